/** PhotoPicker/DocumentPicker files: safe download, Meta's checks, decryption, encrypted storage. */
export { MediaError, MEDIA_ERRORS } from './errors';
export type { MediaErrorCode } from './errors';
export { decryptMediaFile, encryptMediaFile, MAC_LENGTH } from './meta-media-cipher';
export type { MediaKeys } from './meta-media-cipher';
export { safeDownload, hostAllowed } from './safe-download';
export type { DownloadPolicy } from './safe-download';
export { pickerLimitsOf, META_MAX_FILES, META_MAX_FILE_KB } from './picker-limits';
export type { PickerLimits } from './picker-limits';
export { MEDIA_OBJECT_SCHEMA, pickerValueSchema } from './media-schema';
export { detectContentType, typeAllowed } from './content-type';
export { MediaService, UNAVAILABLE_MEDIA, pickersOf } from './media-service';
export type { MediaFiles, ReceivedFile, MediaSettings, MediaServiceDeps, MediaRequestScope } from './media-service';
export { mediaAad, openMedia, sealMedia } from './media-seal';
export type { MediaMeta } from './media-seal';
export * from './media-repository';
export { LocalCdn } from './local-cdn';
export type { WireMediaObject } from './local-cdn';
