import { defineScreen, next, showError, type DataOf } from '../flow.generated';
import { bookingWindow, DEPARTMENTS, freeSlots, LOCATIONS, titleOf, type Option } from '../calendar';

/** The slot the user picked, kept in the session between screens. */
export interface ChosenSlot {
  department: string;
  location: string;
  date: string;
  time: string;
}

const NO_DATE_YET: Option[] = [{ id: 'none', title: 'Pick a date first' }];

/** Data of the APPOINTMENT screen: option lists, the booking window, and the times of `date`. */
export function appointmentData(date?: string): DataOf<'APPOINTMENT'> {
  const slots = date ? freeSlots(date) : [];
  return {
    department: DEPARTMENTS,
    location: LOCATIONS,
    ...bookingWindow(),
    time: slots.length > 0 ? slots : NO_DATE_YET,
    is_time_enabled: slots.length > 0,
  };
}

// `data` is what flow.json's two data_exchange actions send, told apart by `trigger`:
// { trigger: 'date_selected'; date } or { trigger: 'appointment_chosen'; department; location; date; time }.
export const appointment = defineScreen('APPOINTMENT', {
  // Picking a date loads that day's free times (the DatePicker's on-select data_exchange).
  onDataExchange({ data }, ctx) {
    if (data.trigger === 'date_selected') {
      const refreshed = appointmentData(data.date);
      if (refreshed.is_time_enabled !== true) {
        return showError('No free times on that day. Please pick another date.', { data: refreshed });
      }
      return next('APPOINTMENT', refreshed);
    }
    // Every choice must be one this screen offered: the Dropdowns' options come from screen data,
    // which the schema derived from flow.json cannot enumerate, and a client can send any string.
    // An unknown value is an error on the screen, never echoed back or stored.
    const fieldErrors: Record<string, string> = {};
    if (!isOffered(DEPARTMENTS, data.department)) fieldErrors.department = 'Choose one of the options';
    if (!isOffered(LOCATIONS, data.location)) fieldErrors.location = 'Choose one of the options';
    if (Object.keys(fieldErrors).length > 0) {
      return showError('Please choose from the lists shown.', { data: appointmentData(data.date), fieldErrors });
    }
    const slots = freeSlots(data.date);
    if (!slots.some((s) => s.id === data.time)) {
      return showError('That time is no longer free.', {
        data: appointmentData(data.date),
        fieldErrors: { time: 'Pick another time' },
      });
    }
    const slot: ChosenSlot = { department: data.department, location: data.location, date: data.date, time: data.time };
    ctx.session.set('slot', slot);
    return next('DETAILS', { slot_summary: describeSlot(slot) });
  },
});

/** Whether `id` is one of the options shown (option ids are the only values a real client sends). */
export function isOffered(options: readonly Option[], id: unknown): boolean {
  return typeof id === 'string' && options.some((o) => o.id === id);
}

export function describeSlot(slot: ChosenSlot): string {
  return `${titleOf(DEPARTMENTS, slot.department)}, ${titleOf(LOCATIONS, slot.location)}, ${slot.date} at ${slot.time}`;
}
