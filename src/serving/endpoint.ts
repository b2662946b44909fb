import type { TrafficPolicyConfig } from './traffic-policy.js';
import type { DataCaptureConfig, EndpointStatus, VariantConfig } from './endpoint-config.js';
import type { StoredPipelineStage } from './pipeline-config.js';
import type { PoolScalingState } from './variant-pool.js';

/** The registry version a variant's model reference resolved to when the configuration was applied. */
export interface ResolvedModel {
  /** Model group name. */
  name: string;
  version: number;
  /** `sha256:<hex>` of the package. */
  digest: string;
  framework: string;
}

/** A variant as stored: its configuration plus the pinned model version. */
export interface StoredVariant extends Omit<VariantConfig, 'pipeline'> {
  resolved: ResolvedModel;
  /** Pipeline variants: each stage with the version its model reference pinned. */
  pipeline?: StoredPipelineStage[];
}

/** What this process is doing for a variant right now. */
export interface LiveVariantState {
  /** Share of traffic in percent, from the weights in effect in this process. */
  trafficPercent: number;
  workers: number;
  inFlight: number;
  workerRestarts: number;
  /** Autoscaled variants: bounds, requests waiting for a start from zero, cold starts so far. */
  scaling?: PoolScalingState;
}

/** One variant in `describe`: configuration, pinned version and, where this process serves it, live state. */
export interface EndpointVariant extends StoredVariant {
  live?: LiveVariantState;
}

/** One deploy of an unapproved version that an admin allowed: the audit trail `describe` shows. */
export interface ApprovalOverride {
  model: string;
  version: number;
  /** The version's approval status when it was deployed. */
  approval: string;
  variant: string;
  actor: string;
  reason: string;
  at: string;
}

/** A real-time endpoint as the API and CLI show it. */
export interface Endpoint {
  name: string;
  status: EndpointStatus;
  /** Why the endpoint failed, or why its last update did not apply; null otherwise. */
  statusReason: string | null;
  variants: EndpointVariant[];
  dataCapture: DataCaptureConfig;
  /** How requests without a target variant choose their variant. */
  trafficPolicy: TrafficPolicyConfig;
  /** Deploys of unapproved versions an admin allowed on this endpoint, oldest first. */
  approvalOverrides: ApprovalOverride[];
  /** Bumped on every applied configuration change; servers reload when it moves. */
  generation: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}
