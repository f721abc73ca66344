// REST ⇄ signal-cli JSON-RPC translation for the signal-cli-rest-api compatible front door. No I/O: endpoints
// describe requests and turn them into plans the daemon executes.
export type {
  AboutResult,
  Endpoint,
  EndpointPlan,
  EndpointSchemas,
  HttpMethod,
  LocalAction,
  LogLevel,
  PlanContext,
  RestRequest,
  RestResponse,
  RpcCall,
  TrustMode,
} from './types.ts';

export { endpointById, endpoints } from './endpoints.ts';
export { endpointScopes, scopeOf } from './scopes.ts';
export { withTrustMode } from './trust-mode.ts';
export type { TrustModeOptions } from './trust-mode.ts';
export type { EndpointScope } from './scopes.ts';
export { buildOpenApi, jsonSchemaOf } from './openapi.ts';
export { UNTRUSTED_IDENTITY_MESSAGE, badRequest, restErrorResponse } from './errors.ts';

export {
  GROUP_PREFIX,
  classifyRecipient,
  isStrictBase64,
  isUuid,
  isValidUsername,
  toRestGroupId,
  toSignalGroupId,
} from './identifiers.ts';
export type { RecipientClass } from './identifiers.ts';

export { parseStyledText } from './styled-text.ts';
export type { StyledText, TextStyleName } from './styled-text.ts';

export { formatDataUri, parseDataUri, sniffContentType, sniffMime, toSignalAttachment } from './attachments.ts';
export type { DataUri, DataUriResult } from './attachments.ts';

export { formatMention, sendV2Params } from './endpoints/send.ts';
export {
  sendResponseBody,
  toContactEntry,
  toDeviceEntry,
  toGroupEntry,
  toIdentityEntry,
  toSearchEntry,
  toStickerPackEntry,
  untrustedRecipients,
} from './mappers.ts';
export { qrPng } from './qr.ts';
export { LIMITS } from './schemas.ts';
export { PULL_MAX_MESSAGES, PULL_MAX_TIMEOUT_SECONDS, consumerQuery, pullQuery, readPullQuery } from './receive.ts';
export type { PullRequest } from './receive.ts';
