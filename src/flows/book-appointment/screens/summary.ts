import { randomBytes } from 'node:crypto';
import { complete, defineScreen, showError } from '../flow.generated';
import { book, release } from '../calendar';
import type { ChosenSlot } from './appointment';

export const summary = defineScreen('SUMMARY', {
  onDataExchange(_request, ctx) {
    const slot = ctx.session.get<ChosenSlot>('slot');
    if (!slot) return showError('Your session has expired. Please start again.');
    if (!book(slot.date, slot.time)) {
      return showError('Sorry, that time was just booked by someone else. Go back to pick another.');
    }
    // Held from here, so nobody else gets it; given back if this completion is not stored (the
    // database failed, say), since the user is then told something went wrong.
    ctx.afterRollback(() => release(slot.date, slot.time));
    const bookingRef = randomBytes(4).toString('hex').toUpperCase();
    ctx.afterCommit(() => {
      ctx.logger.info('appointment booked', { bookingRef });
    });
    // The submission stored (encrypted) is every screen's answers; params go to the chat message.
    return complete({ params: { booking_ref: bookingRef, date: slot.date, time: slot.time } });
  },
});
