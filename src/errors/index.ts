export {
  ERROR_CATALOGUE,
  EXIT_FAILURE,
  EXIT_USAGE,
  UNKNOWN_ERROR_CODE,
  entryOf,
  type ErrorCode,
  type ErrorEntry,
} from './catalogue';
export { FlowgateError, errorCodeOf, httpStatusOf } from './flowgate-error';
export { exitCodeOf, operatorMessage } from './for-operator';
