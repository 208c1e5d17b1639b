import { FlowgateError } from '../errors';

export class InvalidPhoneNumberError extends FlowgateError {
  constructor() {
    // The value itself is personal data: it stays out of the message.
    super(
      'invalid_phone_number',
      'phone number must be in E.164 form: "+" then 8 to 15 digits, country code first (e.g. +14155550123)',
    );
  }
}

/**
 * E.164: "+", a country code that does not start with 0, at most 15 digits in all. Spaces,
 * dashes, dots and parentheses people type are removed first; anything else is refused.
 */
export function normalizePhoneNumber(input: string): string {
  if (typeof input !== 'string' || input.length > 40) throw new InvalidPhoneNumberError();
  const compact = input.trim().replace(/[\s\-.()]/g, '');
  if (!/^\+[1-9]\d{7,14}$/.test(compact)) throw new InvalidPhoneNumberError();
  return compact;
}
