// The package's public API: embed Capstan (platform, server) or talk to a server (SDK clients).
export { compileConfig, redactConfig, type CapstanConfig, type ConfigSources } from './core/config.js';
export { CapstanError, errorCatalogue, isCapstanError, type ErrorCode, type ProblemDocument } from './core/errors.js';
export { openPlatform, type Platform, type PlatformOptions } from './platform/platform.js';
export type { BackgroundService } from './platform/background-service.js';
export type { OutboxEvent, OutboxHandler } from './storage/outbox/index.js';
export { buildApp, type CapstanApp } from './server/app.js';
export { startServer, type RunningServer, type ServerOptions } from './server/server.js';
export { ROLES, type Role } from './server/auth/roles.js';
export type { ApiKeyAdmin, ApiKeyInfo, CreatedApiKey } from './server/auth/api-key-store.js';
export { HttpClient, type HttpClientOptions } from './sdk/http-client.js';
export { KeysClient } from './sdk/keys-client.js';
export type { FunctionContext, FunctionEvent } from './pipelines/steps/function-step.js';
