import { createHash } from 'node:crypto';

/**
 * A stand-in for the clinic's booking system, so the example runs with nothing else installed.
 * Availability is derived from the date (the same day always has the same free times) minus what
 * was booked in this process. Replace it with calls to the real system.
 */

export interface Option {
  readonly id: string;
  readonly title: string;
}

export const DEPARTMENTS: readonly Option[] = [
  { id: 'general', title: 'General practice' },
  { id: 'cardiology', title: 'Cardiology' },
  { id: 'dermatology', title: 'Dermatology' },
  { id: 'paediatrics', title: 'Paediatrics' },
];

export const LOCATIONS: readonly Option[] = [
  { id: 'central', title: 'Central clinic' },
  { id: 'north', title: 'North clinic' },
];

const booked = new Set<string>();

const DAY_MS = 86_400_000;

export function bookingWindow(now = Date.now()): { min_date: string; max_date: string } {
  return { min_date: isoDate(now + DAY_MS), max_date: isoDate(now + 30 * DAY_MS) };
}

/**
 * Free half-hour slots between 09:00 and 16:30; none on weekends or outside the booking window.
 * One shared calendar: the example does not model per-department diaries.
 */
export function freeSlots(date: string, now = Date.now()): Option[] {
  const { min_date, max_date } = bookingWindow(now);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || date < min_date || date > max_date) return [];
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
  if (weekday === 0 || weekday === 6) return [];
  return openTimes(date)
    .filter((time) => !booked.has(slotKey(date, time)))
    .map((time) => ({ id: time, title: time }));
}

/** The day's times the stand-in system ever offers, by date: at most the 31 days of the window. */
const openTimesByDate = new Map<string, readonly string[]>();

/**
 * The times of a day that its (deterministic) pattern leaves open, worked out once per date: 16
 * hashes a call otherwise, a fifth of the handler's time under load. Dates behind the window are
 * dropped as the window moves, so the memo stays bounded.
 */
function openTimes(date: string): readonly string[] {
  let times = openTimesByDate.get(date);
  if (!times) {
    const open: string[] = [];
    for (let minutes = 9 * 60; minutes <= 16 * 60 + 30; minutes += 30) {
      const time = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
      if (createHash('sha256').update(`${date}|${time}`).digest()[0] % 3 !== 0) open.push(time);
    }
    times = open;
    const today = isoDate(Date.now());
    for (const old of openTimesByDate.keys()) if (old < today) openTimesByDate.delete(old);
    openTimesByDate.set(date, times);
  }
  return times;
}

/** Books a slot; false when someone else took it first. */
export function book(date: string, time: string): boolean {
  const key = slotKey(date, time);
  if (booked.has(key)) return false;
  booked.add(key);
  return true;
}

/** Gives a booked slot back (the booking was not confirmed to the user after all). */
export function release(date: string, time: string): void {
  booked.delete(slotKey(date, time));
}

export function titleOf(options: readonly Option[], id: string): string {
  return options.find((o) => o.id === id)?.title ?? id;
}

function slotKey(date: string, time: string): string {
  return `${date}|${time}`;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
