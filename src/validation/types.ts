export type { DecryptedRequest } from '../protocol';
export interface EnvelopeFieldsShape {
  encrypted_flow_data: string;
  encrypted_aes_key: string;
  initial_vector: string;
}
