/**
 * The work queue's limits, in one place that the CDK stack (infra/lib/stateless-stack.ts) and the
 * local pipeline (demo/local-pipeline.ts) both read, so the two cannot drift.
 */

/** Deliveries of one work message before SQS moves it to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 3;

/** Work messages (accounts) per auditor invocation: the SQS event source's batch size. */
export const BATCH_SIZE = 4;
