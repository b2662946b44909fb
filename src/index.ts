// The package's public API: embed Capstan (platform, server) or talk to a server (SDK clients).
export { compileConfig, redactConfig, type CapstanConfig, type ConfigSources } from './core/config.js';
export { CapstanError, errorCatalogue, isCapstanError, type ErrorCode, type ProblemDocument } from './core/errors.js';
export { openPlatform, type Platform, type PlatformOptions } from './platform/platform.js';
export { newWebhookSecret, signWebhook, verifyWebhook, webhookHeaders, type WebhookMessage, type WebhookVerification } from './core/webhook-signature.js';
export type { BackgroundService } from './core/background-service.js';
export { defineContext, type ApiDocsFragment, type ContextInstance, type ContextModule, type ContextParts, type ContextRouteOptions, type ContextRoutes } from './storage/context-module.js';
export { contextModules } from './platform/contexts.js';
export type { OutboxEvent, OutboxHandler } from './storage/outbox/index.js';
export { buildApp, type CapstanApp } from './server/app.js';
export { startServer, type RunningServer, type ServerOptions } from './server/server.js';
export { ROLES, type Role } from './auth/index.js';
export type { ApiKeyAdmin, ApiKeyInfo, CreatedApiKey } from './auth/index.js';
export { HttpClient, type HttpClientOptions } from './sdk/http-client.js';
export { KeysClient } from './sdk/keys-client.js';
export type { FunctionContext, FunctionEvent } from './pipelines/index.js';
export { DecisionsClient } from './sdk/decisions-client.js';
export type { DecisionRecord, DecisionResult, DecisionService, DecisionSnapshot, FeatureReader, ReplayReport, UseCaseDefinition } from './decisions/index.js';
