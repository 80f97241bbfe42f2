// Door of the datasets room: the labelled evaluation sets in ../shared/datasets, read from disk as items with gold answers.
export { loadDataset, datasetsDir, DATASETS, type DatasetItem, type DatasetName, type AnswerKind } from './datasets.js';
export { normalizeAnswer } from './normalize.js';
