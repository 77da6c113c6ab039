// index.ts: the public API of ttrpc-ts, a standalone implementation of containerd's ttrpc.
export { Code, TtrpcError, isTtrpcError, toStatus, messageTooLarge } from './errors';
export { Metadata, type MetadataInit } from './metadata';
export {
  HEADER_SIZE,
  DEFAULT_MAX_MESSAGE_SIZE,
  MAX_FRAME_LENGTH,
  MessageType,
  FrameReader,
  checkMaxMessageSize,
  decodeHeader,
  encodeFrame,
  encodeHeader,
  type Frame,
  type FrameHeader,
  type FrameReaderOptions,
} from './frame';
export {
  decodeRequest,
  decodeResponse,
  decodeStatus,
  encodeRequest,
  encodeResponse,
  encodeStatus,
  type AnyMessage,
  type DecodedRequest,
  type DecodedResponse,
  type KeyValue,
  type Request,
  type Response,
  type Status,
} from './codec';
export { Server, type CallContext, type Handler, type ServerOptions } from './server';
export { Client, type CallOptions, type ClientOptions, type FrameWriter } from './client';
