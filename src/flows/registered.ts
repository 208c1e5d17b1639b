import type { FlowDefinition } from '../flow-api';
import bookAppointment from './book-appointment';
import submitClaim from './submit-claim';

/**
 * THE list of flows this endpoint serves. To add a flow: create `src/flows/<flow-id>/` with its
 * `flow.json` and screen modules, then add its default export here. Each is served at
 * `POST /flows/<flow-id>` and checked against its Flow JSON at boot.
 */
export const registeredFlows: readonly FlowDefinition[] = [bookAppointment, submitClaim];
