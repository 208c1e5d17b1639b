/** PostgreSQL's SQLSTATE 42501, insufficient_privilege: the login may not do what was asked. */
export function isPermissionDenied(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '42501';
}
