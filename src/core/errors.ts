/**
 * The one error catalogue. Every error a client can see has a stable code `CAPSTAN_<AREA>_<WHAT>`,
 * an HTTP status and a title that is safe to show; `docs/errors.md` lists them and a test keeps the
 * two in sync. Add new codes here, in their area's block, and a line to docs/errors.md.
 */

/** One catalogue entry: HTTP status and a client-safe title. */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

/** Every error code Capstan can answer with. */
export const errorCatalogue = {
  // core / request handling
  CAPSTAN_INTERNAL: { status: 500, title: 'Internal error' },
  CAPSTAN_REQUEST_INVALID: { status: 400, title: 'The request is not valid' },
  CAPSTAN_REQUEST_MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  CAPSTAN_REQUEST_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  CAPSTAN_REQUEST_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The content type is not supported' },
  CAPSTAN_REQUEST_URL_INVALID: { status: 400, title: 'The request URL is not valid' },
  CAPSTAN_REQUEST_URL_TOO_LONG: { status: 414, title: 'A path segment of the request URL is too long' },
  CAPSTAN_REQUEST_HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  CAPSTAN_REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  CAPSTAN_REQUEST_YAML_LIMIT: { status: 400, title: 'The YAML document is too large or expands too many aliases' },
  CAPSTAN_REQUEST_REGEX_INVALID: { status: 400, title: 'The regular expression is not valid or uses unsupported syntax' },
  CAPSTAN_REQUEST_HOST_NOT_ALLOWED: { status: 421, title: 'The Host header does not name this server' },
  CAPSTAN_REQUEST_CROSS_ORIGIN: { status: 403, title: 'Cross-site requests that change state are refused' },
  CAPSTAN_ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  CAPSTAN_NAME_INVALID: { status: 400, title: 'The name is not valid' },

  // configuration
  CAPSTAN_CONFIG_INVALID: { status: 500, title: 'The configuration is not valid' },
  CAPSTAN_CONFIG_INSECURE_BIND: { status: 500, title: 'Refusing to listen on a non-loopback address without API keys' },
  CAPSTAN_CONFIG_SECRET_KEY_MISMATCH: { status: 500, title: 'A stored secret does not open with the configured secret key' },
  CAPSTAN_CONFIG_CONTEXT_MISSING: { status: 500, title: 'A context this one needs is not installed on the platform' },
  CAPSTAN_CONFIG_CONTEXT_DUPLICATE: { status: 500, title: 'Two installed contexts share a name or a migration' },

  // authentication and authorisation
  CAPSTAN_AUTH_REQUIRED: { status: 401, title: 'An API key is required' },
  CAPSTAN_AUTH_INVALID_KEY: { status: 401, title: 'The API key is not valid' },
  CAPSTAN_AUTH_FORBIDDEN: { status: 403, title: 'The API key does not have the role this action needs' },
  CAPSTAN_AUTH_ROLE_INVALID: { status: 400, title: 'Unknown role' },
  CAPSTAN_AUTH_KEY_NOT_FOUND: { status: 404, title: 'No such API key' },
  CAPSTAN_AUTH_KEY_NAME_TAKEN: { status: 409, title: 'An active API key already has this name' },

  // metadata database
  CAPSTAN_DB_URL_INVALID: { status: 500, title: 'The database URL is not valid' },
  CAPSTAN_DB_UNAVAILABLE: { status: 503, title: 'The metadata database is not reachable' },
  CAPSTAN_DB_MIGRATION_FAILED: { status: 500, title: 'A database migration failed' },
  CAPSTAN_DB_CONFLICT: { status: 409, title: 'The record was changed concurrently' },

  // artifact store
  CAPSTAN_ARTIFACT_KEY_INVALID: { status: 400, title: 'The artifact key is not valid' },
  CAPSTAN_ARTIFACT_NOT_FOUND: { status: 404, title: 'No such artifact' },
  CAPSTAN_ARTIFACT_UNSAFE_PATH: { status: 400, title: 'The path escapes its root or is a symbolic link' },
  CAPSTAN_ARTIFACT_DIGEST_MISMATCH: { status: 409, title: 'The artifact digest does not match' },
  CAPSTAN_ARTIFACT_URI_INVALID: { status: 400, title: 'The artifact store URI is not valid' },
  CAPSTAN_ARTIFACT_STORE_UNAVAILABLE: { status: 503, title: 'The artifact store is not reachable' },
  CAPSTAN_ARTIFACT_LOCAL_FILE_INVALID: { status: 400, title: 'The local file to upload does not exist or is not a regular file' },

  // job queue
  CAPSTAN_QUEUE_JOB_NOT_FOUND: { status: 404, title: 'No such job' },
  CAPSTAN_QUEUE_JOB_STATE_INVALID: { status: 409, title: 'The job is not in a state that allows this' },
  CAPSTAN_QUEUE_LEASE_LOST: { status: 409, title: 'The job lease was lost to another worker' },

  // outbound URL guard (webhooks, external models)
  CAPSTAN_OUTBOUND_URL_INVALID: { status: 400, title: 'The outbound URL is not valid' },
  CAPSTAN_OUTBOUND_ADDRESS_BLOCKED: { status: 400, title: 'The outbound URL points to a blocked address' },
  CAPSTAN_OUTBOUND_HOST_UNRESOLVED: { status: 400, title: 'The host of the outbound URL does not resolve' },

  // model registry and experiment tracking
  CAPSTAN_REGISTRY_EXPERIMENT_NOT_FOUND: { status: 404, title: 'No such experiment' },
  CAPSTAN_REGISTRY_EXPERIMENT_EXISTS: { status: 409, title: 'The experiment already exists' },
  CAPSTAN_REGISTRY_RUN_NOT_FOUND: { status: 404, title: 'No such run' },
  CAPSTAN_REGISTRY_PARAM_CONFLICT: { status: 409, title: 'The param was already logged with another value' },
  CAPSTAN_REGISTRY_METRIC_INVALID: { status: 400, title: 'A metric point is not valid' },
  CAPSTAN_REGISTRY_MODEL_NOT_FOUND: { status: 404, title: 'No such model' },
  CAPSTAN_REGISTRY_MODEL_EXISTS: { status: 409, title: 'The model already exists' },
  CAPSTAN_REGISTRY_VERSION_NOT_FOUND: { status: 404, title: 'No such model version' },
  CAPSTAN_REGISTRY_ALIAS_NOT_FOUND: { status: 404, title: 'No such alias' },
  CAPSTAN_REGISTRY_ALIAS_INVALID: { status: 400, title: 'The alias is not valid' },
  CAPSTAN_REGISTRY_REF_INVALID: { status: 400, title: 'The model reference is not valid' },
  CAPSTAN_REGISTRY_PACKAGE_INVALID: { status: 400, title: 'The model package is not valid' },
  CAPSTAN_REGISTRY_APPROVAL_UNCHANGED: { status: 409, title: 'The version already has this approval status' },
  CAPSTAN_REGISTRY_POLICY_INVALID: { status: 400, title: 'The approval policy is not valid' },
  CAPSTAN_REGISTRY_COMPARE_INVALID: { status: 400, title: 'The comparison request is not valid' },
  CAPSTAN_REGISTRY_WEBHOOK_NOT_FOUND: { status: 404, title: 'No such webhook' },
  CAPSTAN_REGISTRY_WEBHOOK_INVALID: { status: 400, title: 'The webhook is not valid' },
  CAPSTAN_REGISTRY_DESTINATION_NOT_EMPTY: { status: 409, title: 'The download directory is not empty' },
  CAPSTAN_REGISTRY_VERSION_IMMUTABLE: { status: 409, title: "A registered model version's files cannot change" },

  // built-in NCF recommender
  CAPSTAN_NCF_FILE_NOT_FOUND: { status: 404, title: 'The ratings file does not exist' },
  CAPSTAN_NCF_FILE_EMPTY: { status: 400, title: 'The ratings file is empty' },
  CAPSTAN_NCF_FORMAT_UNKNOWN: { status: 400, title: 'Unknown ratings format' },
  CAPSTAN_NCF_NO_ROWS: { status: 400, title: 'The ratings file has a header but no interactions' },
  CAPSTAN_NCF_ROW_INVALID: { status: 400, title: 'A row of the ratings file is not valid' },
  CAPSTAN_NCF_ID_NOT_NUMERIC: { status: 400, title: 'A user or item id is not a number' },
  CAPSTAN_NCF_TOO_FEW_ITEMS: { status: 400, title: 'More negatives were requested than items exist' },
  CAPSTAN_NCF_NOTHING_TO_EVALUATE: { status: 400, title: 'No user has enough interactions to hold one out' },
  CAPSTAN_NCF_HYPERPARAMETER_INVALID: { status: 400, title: 'An NCF hyperparameter is not valid' },
  CAPSTAN_NCF_DATASET_INVALID: { status: 400, title: 'The prepared NCF dataset is missing or not valid' },

  // demo
  CAPSTAN_DEMO_FAILED: { status: 500, title: 'The demo did not complete' },

  // pipelines
  CAPSTAN_PIPELINE_INVALID: { status: 400, title: 'The pipeline definition is not valid' },
  CAPSTAN_PIPELINE_NOT_FOUND: { status: 404, title: 'No such pipeline' },
  CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND: { status: 404, title: 'No such pipeline execution' },
  CAPSTAN_PIPELINE_EXECUTION_FINISHED: { status: 409, title: 'The execution has already finished' },
  CAPSTAN_PIPELINE_PARAMETER_INVALID: { status: 400, title: 'A pipeline parameter is missing, unknown or of the wrong type' },
  CAPSTAN_PIPELINE_REFERENCE_UNRESOLVED: { status: 422, title: 'A reference has no value in this execution' },
  CAPSTAN_PIPELINE_CONDITION_NOT_BOOLEAN: { status: 422, title: 'The condition did not evaluate to a boolean' },
  CAPSTAN_PIPELINE_CONDITION_FAILED: { status: 422, title: 'The condition could not be evaluated' },
  CAPSTAN_PIPELINE_COMMAND_NOT_FOUND: { status: 422, title: 'The step command does not exist' },
  CAPSTAN_PIPELINE_STEP_EXIT: { status: 422, title: 'The step exited with a non-zero code' },
  CAPSTAN_PIPELINE_STEP_TIMEOUT: { status: 504, title: 'The step exceeded its timeout' },
  CAPSTAN_PIPELINE_STEP_CANCELLED: { status: 409, title: 'The step was cancelled' },
  CAPSTAN_PIPELINE_LEASE_LOST: { status: 409, title: 'The runner lost its lease; the attempt was stopped and its writes refused' },
  CAPSTAN_PIPELINE_OUTPUT_MISSING: { status: 422, title: 'The step did not write a declared output' },
  CAPSTAN_PIPELINE_INPUT_NOT_FOUND: { status: 422, title: 'A step input does not exist in the artifact store' },
  CAPSTAN_PIPELINE_PROPERTY_FILE_INVALID: { status: 422, title: 'A property file is missing or not a JSON object' },
  CAPSTAN_PIPELINE_BUILTIN_UNKNOWN: { status: 422, title: 'No such built-in step function' },
  CAPSTAN_PIPELINE_FUNCTION_INVALID: { status: 422, title: 'The function step module or handler cannot be loaded' },
  CAPSTAN_PIPELINE_FUNCTION_FAILED: { status: 422, title: 'The function step handler threw an error' },
  CAPSTAN_PIPELINE_EXECUTOR_UNKNOWN: { status: 422, title: 'No such step executor' },
  CAPSTAN_PIPELINE_CODE_INVALID: { status: 400, title: 'The pipeline code directory cannot be snapshotted' },
  CAPSTAN_PIPELINE_FAIL_STEP: { status: 422, title: 'The pipeline reached a fail step' },
  CAPSTAN_PIPELINE_REGISTRY_MISSING: { status: 501, title: 'No model registry is available to register or check the model' },
  CAPSTAN_PIPELINE_DEPLOYER_MISSING: { status: 501, title: 'No deployer is registered; the serving context is not installed' },
  CAPSTAN_PIPELINE_DEPLOY_NOT_APPROVED: { status: 409, title: 'The model version to deploy is not approved' },
  CAPSTAN_PIPELINE_DEPLOYMENT_NOT_SUCCEEDED: { status: 409, title: 'The deployment the step started was rolled back, failed or paused' },
  CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID: { status: 401, title: 'The webhook signature or token does not match' },
  CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID: { status: 401, title: 'The webhook timestamp is malformed or more than 5 minutes from now' },
  CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING: { status: 401, title: 'A webhook signature header is missing' },

  // real-time serving
  CAPSTAN_SERVING_ENDPOINT_NOT_FOUND: { status: 404, title: 'No such endpoint' },
  CAPSTAN_SERVING_ENDPOINT_EXISTS: { status: 409, title: 'The endpoint already exists' },
  CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID: { status: 400, title: 'The endpoint configuration is not valid' },
  CAPSTAN_SERVING_ENDPOINT_NOT_READY: { status: 503, title: 'The endpoint is not in service' },
  CAPSTAN_SERVING_VARIANT_NOT_FOUND: { status: 400, title: 'The endpoint has no such variant' },
  CAPSTAN_SERVING_TARGET_MODEL_NOT_FOUND: { status: 404, title: 'The endpoint hosts no such target model' },
  CAPSTAN_SERVING_TARGET_MODEL_REQUIRED: { status: 400, title: 'A multi-model variant needs a target model' },
  CAPSTAN_SERVING_MODEL_NOT_READY: { status: 429, title: 'The target model is still loading' },
  CAPSTAN_SERVING_MODEL_REF_UNRESOLVED: { status: 400, title: 'The model reference does not resolve to a registered version' },
  CAPSTAN_SERVING_MODEL_PACKAGE_INVALID: { status: 400, title: 'The model package is not valid' },
  CAPSTAN_SERVING_MODEL_LOAD_FAILED: { status: 500, title: 'The model could not be loaded' },
  CAPSTAN_SERVING_MODEL_NOT_APPROVED: { status: 409, title: 'The model version is not approved for serving' },
  CAPSTAN_SERVING_MALFORMED_JSON: { status: 400, title: 'The invocation body is not valid JSON' },
  CAPSTAN_SERVING_INVALID_INPUT: { status: 400, title: 'The input does not fit the model' },
  CAPSTAN_SERVING_UNKNOWN_IDS: { status: 400, title: 'The request names users or items the model does not know' },
  CAPSTAN_SERVING_PAYLOAD_TOO_LARGE: { status: 413, title: 'The invocation body is too large' },
  CAPSTAN_SERVING_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The invocation content type is not supported' },
  CAPSTAN_SERVING_PROTOCOL_UNSUPPORTED: { status: 400, title: 'The model does not support this protocol' },
  CAPSTAN_SERVING_MODEL_ERROR: { status: 500, title: 'The model failed while handling the request' },
  CAPSTAN_SERVING_MODEL_CRASHED: { status: 500, title: 'The model worker crashed while handling the request' },
  CAPSTAN_SERVING_MODEL_TIMEOUT: { status: 504, title: 'The model did not answer in time' },
  CAPSTAN_SERVING_UPSTREAM_ERROR: { status: 502, title: 'The external model server failed' },
  CAPSTAN_SERVING_PIPELINE_STAGES_DISCONNECTED: { status: 400, title: 'The stages of the inference pipeline do not connect' },
  CAPSTAN_SERVING_PIPELINE_STAGE_REJECTED: { status: 400, title: 'The first stage of the inference pipeline refused the request' },
  CAPSTAN_SERVING_PIPELINE_STAGE_FAILED: { status: 424, title: 'A stage of the inference pipeline failed' },
  CAPSTAN_SERVING_PIPELINE_STAGE_TIMEOUT: { status: 504, title: 'A stage of the inference pipeline did not answer in time' },
  CAPSTAN_SERVING_COLD_START_QUEUE_FULL: { status: 503, title: 'The variant is starting from zero workers and its queue is full' },
  CAPSTAN_SERVING_COLD_START_FAILED: { status: 503, title: 'The variant failed to start a worker from zero and waits before trying again' },
  CAPSTAN_SERVING_STATS_WINDOW_INVALID: { status: 400, title: 'The statistics window is not valid' },

  // python models (inference.py)
  CAPSTAN_SERVING_PYTHON_DEPENDENCY_MISSING: { status: 500, title: "A module the Python model needs is not installed for the variant's interpreter" },
  CAPSTAN_SERVING_PYTHON_OUTPUT_INVALID: { status: 424, title: 'The Python model returned a value its output handler could not turn into a response' },

  // kubernetes step executor
  CAPSTAN_K8S_NOT_CONFIGURED: { status: 400, title: 'A step runs on Kubernetes but this platform has no cluster configured' },
  CAPSTAN_K8S_STEP_INVALID: { status: 400, title: 'The Kubernetes settings of a step are not valid' },
  CAPSTAN_K8S_STEP_IO_INVALID: { status: 400, title: 'The step-io spec of a Kubernetes step is missing or not valid' },
  CAPSTAN_K8S_API_ERROR: { status: 502, title: 'The Kubernetes API refused or failed a request' },
  CAPSTAN_K8S_POD_FAILED: { status: 502, title: 'The pod of a Kubernetes step failed' },
  CAPSTAN_K8S_POD_UNSCHEDULABLE: { status: 502, title: 'The pod of a Kubernetes step cannot be scheduled' },
  CAPSTAN_K8S_POD_EVICTED: { status: 502, title: 'The pod of a Kubernetes step was evicted' },

  // python client (clients/python): raised by the client itself, never answered by the server
  CAPSTAN_CLIENT_SERVER_UNREACHABLE: { status: 503, title: 'The Capstan server cannot be reached' },
  // feature store
  CAPSTAN_FEATURES_DEFINITION_INVALID: { status: 400, title: 'The entity or feature group definition is not valid' },
  CAPSTAN_FEATURES_SCHEMA_INCOMPATIBLE: { status: 409, title: 'The feature group change is incompatible with the stored version; apply it as a new version' },
  CAPSTAN_FEATURES_NOT_FOUND: { status: 404, title: 'No such entity, feature group or feature' },
  CAPSTAN_FEATURES_RECORDS_INVALID: { status: 400, title: 'The records do not match the feature group schema; nothing was written' },
  CAPSTAN_FEATURES_BATCH_TOO_LARGE: { status: 413, title: 'The pushed batch has more records than allowed' },
  CAPSTAN_FEATURES_SOURCE_INVALID: { status: 400, title: 'The data file cannot be read' },
  CAPSTAN_FEATURES_ENTITY_TABLE_INVALID: { status: 400, title: 'The entity table is not valid' },
  CAPSTAN_FEATURES_ONLINE_STORE_UNAVAILABLE: { status: 503, title: 'The online feature store is not reachable' },
  CAPSTAN_FEATURES_BUSY: { status: 409, title: 'Another ingestion or materialization of the feature group version is still running' },
  // gitops (declarative apply, repositories)
  CAPSTAN_GITOPS_INVALID: { status: 400, title: 'The resource files are not valid' },
  CAPSTAN_GITOPS_KIND_UNKNOWN: { status: 400, title: 'No such resource kind' },
  CAPSTAN_GITOPS_REFERENCE_MISSING: { status: 400, title: 'A resource refers to one that does not exist' },
  CAPSTAN_GITOPS_RESOURCE_NOT_FOUND: { status: 404, title: 'No such resource' },
  CAPSTAN_GITOPS_REPOSITORY_NOT_FOUND: { status: 404, title: 'No such repository' },
  CAPSTAN_GITOPS_REPOSITORY_EXISTS: { status: 409, title: 'The repository is already registered' },
  CAPSTAN_GITOPS_REPOSITORY_INVALID: { status: 400, title: 'The repository settings are not valid' },
  CAPSTAN_GITOPS_REPOSITORY_UNREACHABLE: { status: 502, title: 'The repository could not be fetched' },
  CAPSTAN_GITOPS_SYNC_BUSY: { status: 409, title: 'Another process is syncing this repository' },
  CAPSTAN_GITOPS_WEBHOOK_SIGNATURE_INVALID: { status: 401, title: 'The push webhook signature or token does not match' },

  // notifications
  CAPSTAN_NOTIFICATION_INVALID: { status: 400, title: 'The notification subscription is not valid' },
  CAPSTAN_NOTIFICATION_NOT_FOUND: { status: 404, title: 'No such notification subscription' },
  CAPSTAN_NOTIFICATION_TARGET_REFUSED: { status: 400, title: 'The notification target address is refused' },
  // decision service
  CAPSTAN_DECISIONS_USECASE_INVALID: { status: 400, title: 'The use-case definition is not valid' },
  CAPSTAN_DECISIONS_USECASE_NOT_FOUND: { status: 404, title: 'No such use case' },
  CAPSTAN_DECISIONS_VERSION_NOT_FOUND: { status: 404, title: 'No such use-case version' },
  CAPSTAN_DECISIONS_NO_ACTIVE_VERSION: { status: 409, title: 'The use case has no active version' },
  CAPSTAN_DECISIONS_INPUT_INVALID: { status: 400, title: "The decision input does not match the use case's input schema" },
  CAPSTAN_DECISIONS_TASK_FAILED: { status: 502, title: 'A task of the decision failed and its policy fails the decision' },
  CAPSTAN_DECISIONS_TASK_TIMEOUT: { status: 504, title: 'A task did not answer in time and its policy fails the decision' },
  CAPSTAN_DECISIONS_DEADLINE_EXCEEDED: { status: 504, title: 'The decision did not complete within its deadline' },
  CAPSTAN_DECISIONS_RULES_FAILED: { status: 422, title: 'The rules could not be evaluated' },
  CAPSTAN_DECISIONS_RECORD_NOT_FOUND: { status: 404, title: 'No such decision record' },
  CAPSTAN_DECISIONS_REQUEST_NOT_FOUND: { status: 404, title: 'No such asynchronous decision request' },
  CAPSTAN_DECISIONS_QUERY_INVALID: { status: 400, title: 'The decision query is not valid' },
  CAPSTAN_DECISIONS_REPLAY_EMPTY: { status: 404, title: 'No decision records in the replay range' },
  CAPSTAN_DECISIONS_FEATURES_UNAVAILABLE: { status: 501, title: 'The features context is not installed; a features task cannot run' },
  // batch transform, asynchronous inference and their notifications
  CAPSTAN_BATCH_JOB_NOT_FOUND: { status: 404, title: 'No such batch job' },
  CAPSTAN_BATCH_OPTIONS_INVALID: { status: 400, title: 'The batch job options are not valid' },
  CAPSTAN_BATCH_FILTER_INVALID: { status: 400, title: 'The JSONPath filter is not valid or not supported' },
  CAPSTAN_BATCH_INPUT_INVALID: { status: 400, title: 'The batch input location is outside the artifact store or not readable' },
  CAPSTAN_BATCH_OUTPUT_INVALID: { status: 400, title: 'The batch output location is outside the artifact store' },
  CAPSTAN_BATCH_JOB_FAILED: { status: 422, title: 'The batch transform job ended Failed' },
  CAPSTAN_BATCH_MODEL_NOT_FOUND: { status: 404, title: 'The model reference does not resolve to a registered version' },
  CAPSTAN_ASYNC_INVOCATION_NOT_FOUND: { status: 404, title: 'No such asynchronous invocation' },
  CAPSTAN_ASYNC_OPTIONS_INVALID: { status: 400, title: 'The asynchronous invocation options are not valid' },
  CAPSTAN_ASYNC_INPUT_INVALID: { status: 400, title: 'The asynchronous invocation input is missing, outside the artifact store or not readable' },
  CAPSTAN_ASYNC_EXPIRED: { status: 408, title: 'The asynchronous invocation expired in the queue' },
  CAPSTAN_ASYNC_TIMEOUT: { status: 504, title: 'The asynchronous invocation did not finish in time' },
  CAPSTAN_ASYNC_WORKER_LOST: { status: 500, title: 'The asynchronous invocation lost its worker on every attempt' },
  CAPSTAN_NOTIFY_INVALID: { status: 400, title: 'The notification settings are not valid' },
  // safe rollouts (deployments with traffic steps and alarms)
  CAPSTAN_ROLLOUT_POLICY_INVALID: { status: 400, title: 'The deployment policy is not valid' },
  CAPSTAN_ROLLOUT_ALARM_INVALID: { status: 400, title: 'An alarm of the deployment is not valid' },
  CAPSTAN_ROLLOUT_NO_PREVIOUS_VERSION: { status: 409, title: 'The endpoint has no version in service to roll out from' },
  CAPSTAN_ROLLOUT_IN_PROGRESS: { status: 409, title: 'The endpoint already has a deployment running' },
  CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND: { status: 404, title: 'No such deployment' },
  CAPSTAN_ROLLOUT_NOT_PAUSED: { status: 409, title: 'The deployment is not paused' },
  CAPSTAN_ROLLOUT_FEEDBACK_INVALID: { status: 400, title: 'The feedback is not valid' },
  CAPSTAN_ROLLOUT_INFERENCE_NOT_FOUND: { status: 404, title: 'No invocation has that inference id' },
  // web console
  CAPSTAN_CONSOLE_SESSION_INVALID: { status: 401, title: 'The console session is missing, expired or signed out' },
  CAPSTAN_CONSOLE_CSRF_REQUIRED: { status: 403, title: 'A state-changing request from the console needs its CSRF token' },
  CAPSTAN_CONSOLE_NOT_BUILT: { status: 404, title: 'The console is not built; run npm run build' },

  // SageMaker Runtime compatibility: AWS SigV4 access keys
  CAPSTAN_AUTH_SIGNATURE_INVALID: { status: 403, title: 'The AWS SigV4 signature is not valid' },
  CAPSTAN_AUTH_SIGNATURE_EXPIRED: { status: 403, title: 'The AWS SigV4 request date is more than 5 minutes from the server time' },
  CAPSTAN_AUTH_ACCESS_KEY_UNKNOWN: { status: 403, title: 'No active key has this AWS access key id' },
  CAPSTAN_AUTH_SIGV4_UNSUPPORTED: { status: 401, title: 'This route does not accept AWS SigV4 signatures' },
} as const satisfies Record<string, ErrorSpec>;

/** A code from the catalogue. */
export type ErrorCode = keyof typeof errorCatalogue;

/** Options for a CapstanError: the underlying cause and structured, client-safe fields. */
export interface CapstanErrorOptions {
  cause?: unknown;
  /**
   * Structured fields (e.g. `modelName`, `version`) copied into the problem+json body. A numeric
   * `retryAfterSeconds` also answers `Retry-After` and sets the queue's retry delay.
   */
  fields?: Record<string, unknown>;
  /** Extra response headers; `Retry-After` comes from `fields.retryAfterSeconds` unless set here. */
  headers?: Record<string, string>;
  /** False when trying again cannot help (bad input, missing model): a job goes dead, a step fails without retrying; default true. */
  retryable?: boolean;
}

/**
 * An error with a catalogue code. `message` (the detail) must be safe to show a client: never a
 * stack, an internal path or a secret. The cause stays server-side.
 */
export class CapstanError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly fields: Record<string, unknown>;
  readonly headers: Record<string, string>;
  /** False when trying again cannot help; read through `isRetryable`. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, detail?: string, options: CapstanErrorOptions = {}) {
    const spec: ErrorSpec = errorCatalogue[code];
    super(detail ?? spec.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CapstanError';
    this.code = code;
    this.status = spec.status;
    this.title = spec.title;
    this.fields = options.fields ?? {};
    const retryAfter = this.fields.retryAfterSeconds;
    // One value, two readers (HTTP clients and the job queue): the header is derived, never written beside it.
    this.headers = typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter >= 0 ? { 'Retry-After': String(Math.ceil(retryAfter)), ...options.headers } : (options.headers ?? {});
    this.retryable = options.retryable ?? true;
  }

  /** The RFC 9457 problem document for this error. */
  toProblem(instance?: string): ProblemDocument {
    const doc: ProblemDocument = {
      type: `https://capstan.dev/errors#${this.code}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(instance ? { instance } : {}),
      ...this.fields,
    };
    // A field never replaces a member of the problem itself (an endpoint's `status` once did).
    doc.type = `https://capstan.dev/errors#${this.code}`;
    doc.title = this.title;
    doc.status = this.status;
    doc.detail = this.message;
    doc.code = this.code;
    if (instance) doc.instance = instance;
    return doc;
  }
}

/** An `application/problem+json` body as Capstan sends it. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  [field: string]: unknown;
}

/**
 * The one "do not retry" signal, read by the job queue and the pipeline retry policy alike: an error
 * whose `retryable` is `false` (a CapstanError built with `retryable: false`, the queue's
 * NonRetryableError, or any error a handler flags so) is not worth another attempt.
 */
export function isRetryable(err: unknown): boolean {
  return !(typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === false);
}

/** True when `err` is a CapstanError, optionally with the given code. */
export function isCapstanError(err: unknown, code?: ErrorCode): err is CapstanError {
  return err instanceof CapstanError && (code === undefined || err.code === code);
}

/** Wraps any thrown value as a CapstanError; unknown errors become CAPSTAN_INTERNAL with a safe message. */
export function toCapstanError(err: unknown): CapstanError {
  if (err instanceof CapstanError) return err;
  return new CapstanError('CAPSTAN_INTERNAL', undefined, { cause: err });
}
