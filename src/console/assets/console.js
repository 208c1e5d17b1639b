/* global document, Chart */
// The console's only script (no inline script: the CSP allows scripts from this origin only).
// Draws the overview's charts from the JSON block the server rendered; the tables under each chart
// carry the same numbers for screen readers and for anyone without scripts.
'use strict';

(function () {
  var block = document.getElementById('chart-data');
  if (!block || typeof Chart === 'undefined') return;
  var data = JSON.parse(block.textContent || '{}');
  // Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
  var palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
  var common = { animation: false, responsive: true, maintainAspectRatio: false };
  var drawn = 0;

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, config);
    drawn += 1;
  }

  draw('chart-outcomes', {
    type: 'bar',
    data: {
      labels: data.days,
      datasets: data.outcomes.map(function (s, i) {
        return { label: s.outcome, data: s.counts, backgroundColor: palette[i % palette.length] };
      }),
    },
    options: Object.assign({}, common, {
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: 'requests' } },
      },
    }),
  });

  draw('chart-refusals', {
    type: 'bar',
    data: {
      labels: data.refusals.map(function (r) {
        return r.status + ' ' + r.reason;
      }),
      datasets: [
        {
          label: 'refused requests',
          data: data.refusals.map(function (r) {
            return r.count;
          }),
          backgroundColor: '#D55E00',
        },
      ],
    },
    options: Object.assign({}, common, { indexAxis: 'y', scales: { x: { beginAtZero: true } } }),
  });

  // Every day of the period on the axis; a day without requests is a gap, not a zero.
  var byDay = {};
  data.latency.forEach(function (l) {
    byDay[l.day] = l;
  });
  function latencyOf(key) {
    return data.days.map(function (d) {
      return byDay[d] ? byDay[d][key] : null;
    });
  }
  draw('chart-latency', {
    type: 'line',
    data: {
      labels: data.days,
      datasets: [
        {
          label: 'p50 ms',
          data: latencyOf('p50'),
          borderColor: '#0072B2',
          backgroundColor: '#0072B2',
          spanGaps: false,
        },
        {
          label: 'p99 ms',
          data: latencyOf('p99'),
          borderColor: '#D55E00',
          backgroundColor: '#D55E00',
          spanGaps: false,
        },
      ],
    },
    options: Object.assign({}, common, { scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } } }),
  });

  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
