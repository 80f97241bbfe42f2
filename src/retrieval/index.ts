// Door of the retrieval room: the local document index (BM25, optional embeddings) behind the rag strategy.
export { DocumentIndex, splitPassages, openRetriever, type Hit, type Passage } from './document-index.js';
export { RemoteEmbedder, type Embedder } from './embedder.js';
