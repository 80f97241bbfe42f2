// Door of the retrieval room: the local document index (BM25, optional embeddings re-ranking) behind the rag strategy.
export { DocumentIndex, splitPassages, openRetriever, type Hit, type Passage, type RetrievalSettings, type RetrieverOptions } from './document-index.js';
export { RemoteEmbedder, ServedEmbedder, type EmbedCall, type Embedder } from './embedder.js';
