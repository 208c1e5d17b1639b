import { buildScreenView, resolveBindings } from '../../src/devtools/simulator/screen-view';

const scope = {
  data: { title: 'Hi', options: [{ id: 'a', title: 'A' }], enabled: false, nested: { n: 2 } },
  form: { name: 'Ada', picks: ['a'], agree: true },
  screens: { FIRST: { data: { ref: 'R1' }, form: { email: 'ada@example.com' } } },
};

describe('when the simulator binds a payload like the WhatsApp client', () => {
  it('then a whole-value binding keeps its type and embedded bindings become text', () => {
    expect(
      resolveBindings(
        {
          name: '${form.name}',
          picks: '${form.picks}',
          agree: '${form.agree}',
          n: '${data.nested.n}',
          earlier: '${screen.FIRST.form.email}',
          text: 'Dear ${form.name}, ref ${screen.FIRST.data.ref}',
          literal: 'date_selected',
          list: ['${form.name}', 3],
        },
        scope,
      ),
    ).toEqual({
      name: 'Ada',
      picks: ['a'],
      agree: true,
      n: 2,
      earlier: 'ada@example.com',
      text: 'Dear Ada, ref R1',
      literal: 'date_selected',
      list: ['Ada', 3],
    });
  });

  it('then the view resolves texts, options, disabled and invisible components, and form errors', () => {
    const view = buildScreenView(
      {
        id: 'FIRST',
        title: '${data.title}',
        layout: {
          type: 'SingleColumnLayout',
          children: [
            { type: 'TextHeading', text: '${data.title} there' },
            { type: 'TextBody', text: 'hidden', visible: false },
            {
              type: 'Form',
              name: 'f',
              'error-messages': { pick: 'Choose one' },
              children: [
                { type: 'Dropdown', name: 'pick', label: 'Pick', required: true, 'data-source': '${data.options}' },
                { type: 'TextInput', name: 'name', label: 'Name', enabled: '${data.enabled}' },
                {
                  type: 'Footer',
                  label: 'Go',
                  'on-click-action': { name: 'data_exchange', payload: { pick: '${form.pick}' } },
                },
              ],
            },
          ],
        },
      },
      0,
      scope,
    );
    expect(view.title).toBe('Hi');
    expect(view.lines).toEqual(['# Hi there', { field: 'pick' }, { field: 'name' }, '[ Go ]']);
    expect(view.fields.map((f) => [f.name, f.required, f.enabled, f.error])).toEqual([
      ['pick', true, true, 'Choose one'],
      ['name', false, false, undefined],
    ]);
    expect(view.fields[0]?.options).toEqual([{ id: 'a', title: 'A', enabled: true }]);
    expect(view.actions).toEqual([
      expect.objectContaining({
        name: 'Go',
        source: 'Footer',
        kind: 'data_exchange',
        payload: { pick: '${form.pick}' },
      }),
    ]);
  });
});
