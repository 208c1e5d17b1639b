import { defineScreen, next, showError } from '../flow.generated';
import { appointmentData, describeSlot, type ChosenSlot } from './appointment';

/** Disposable-mail domains the clinic refuses: reminders sent there are never read. */
const DISPOSABLE_DOMAINS = new Set(['mailinator.com', 'guerrillamail.com', 'trashmail.com', '10minutemail.com']);

// `data` is { name; email; phone?; notes? }: the Footer's payload, optional inputs optional.
export const details = defineScreen('DETAILS', {
  // Server-side validation beyond what the Flow JSON can express.
  onDataExchange({ data }, ctx) {
    const fieldErrors: Record<string, string> = {};
    const domain = data.email.split('@')[1]?.toLowerCase() ?? '';
    if (DISPOSABLE_DOMAINS.has(domain)) fieldErrors.email = 'Use a permanent address';
    if (data.phone && !/^\+?[0-9 ()-]{7,20}$/.test(data.phone)) fieldErrors.phone = 'Enter a valid phone number';
    if (Object.keys(fieldErrors).length > 0) {
      return showError('Please check the highlighted fields.', { fieldErrors });
    }
    const slot = ctx.session.get<ChosenSlot>('slot');
    if (!slot) return showError('Your session has expired. Please start again.');
    return next('SUMMARY', {
      appointment: describeSlot(slot),
      contact: data.phone ? `${data.name}, ${data.email}, ${data.phone}` : `${data.name}, ${data.email}`,
    });
  },
  // Back from DETAILS (refresh_on_back): show APPOINTMENT with times that are free now.
  onBack(_request, ctx) {
    const slot = ctx.session.get<ChosenSlot>('slot');
    return next('APPOINTMENT', appointmentData(slot?.date));
  },
});
