/** `application/json`, with or without parameters (charset), in any case: the only body Flows send. */
export function isJson(contentType: string | undefined): boolean {
  return typeof contentType === 'string' && /^application\/json\s*(;|$)/i.test(contentType.trim());
}
