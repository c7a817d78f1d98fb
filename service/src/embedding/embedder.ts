/**
 * Text embedders. The service ships a deterministic feature-hashing embedder
 * because no model weights can be downloaded where it is built and tested.
 * A model endpoint can implement the same interface later.
 */
export interface Embedder {
  readonly dimension: number;
  /** Name and version of the embedding model, so vectors of different models can be distinguished. */
  readonly revision: string;
  embed(text: string): number[];
}
