/**
 * Text embedders. The service ships a deterministic feature-hashing embedder
 * because no model weights can be downloaded where it is built and tested; a
 * model endpoint can implement the same interface later.
 */
export interface Embedder {
  readonly dimension: number;
  /** Identifies the embedder in each event's model_revision, so vectors of different models are told apart. */
  readonly revision: string;
  embed(text: string): number[];
}
