import type { SecureContextOptions } from 'node:tls';
import type { TlsPair } from './tls-files';

/**
 * TLS 1.2 and 1.3 only, forward-secret AEAD suites only (Mozilla's "intermediate" profile without
 * the DHE suites, which would need a dhparam file): what WhatsApp requires (TLS 1.2 or newer) and
 * what every current client speaks. TLS 1.3 suites are named too, so the list is the whole policy.
 */
export const TLS_MIN_VERSION = 'TLSv1.2';
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The secure-context options of a pair: the same at start and at every reload. */
export function secureContextOptions(pair: TlsPair): SecureContextOptions {
  return {
    cert: pair.cert,
    key: pair.key,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  };
}
