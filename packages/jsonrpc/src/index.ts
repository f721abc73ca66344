export {
  JsonRpcPeer,
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_PENDING,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type IncomingNotification,
  type JsonRpcId,
  type JsonRpcPeerOptions,
  MAX_TAG_LENGTH,
  TAG_SEPARATOR,
  type JsonRpcPeerStats,
  type RequestOptions,
} from './peer.ts';
export { toSigError, type JsonRpcErrorObject } from './to-sig-error.ts';
export { extractMember } from './extract-member.ts';
export { jsonValueEnd, scanObjectMembers } from './json-scan.ts';
