import { defineFlow, next } from './flow.generated';
import flowJson from './flow.json';
import { appointment, appointmentData } from './screens/appointment';
import { details } from './screens/details';
import { summary } from './screens/summary';

/**
 * The example flow: choose department, location, date (which loads that day's free times) and time;
 * enter contact details (validated on the server; notes are marked sensitive); confirm and book.
 * The builders come from flow.generated.ts (`npm run types`): screen ids, routes, request and
 * screen data are checked against flow.json by the compiler.
 */
export default defineFlow({
  id: 'book-appointment',
  flowJson,
  onInit: () => next('APPOINTMENT', appointmentData()),
  screens: [appointment, details, summary],
  // Non-personal choices that compliance may see in the audit log; everything else is redacted.
  auditValues: ['department', 'location'],
});
