// The model an index's vectors come from: recorded in index.json, and passages embedded otherwise (by another model,
// or not at all beside embedded ones) refused, as is re-ranking an index with a model other than its own.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SimEmbedder } from '../../src/engines/sim/index.js';
import { DocumentIndex, ServedEmbedder } from '../../src/retrieval/index.js';

const dir = mkdtempSync(join(tmpdir(), 'autoglm-index-model-'));
const docs = join(dir, 'docs');
mkdirSync(docs);
writeFileSync(join(docs, 'a.md'), 'The gateway listens on port 8080.\n');
writeFileSync(join(docs, 'b.md'), 'Canary releases roll back on errors.\n');

/** A sim model served "here", as the gateway's embedding pools would serve it. */
const served = (name: string) => {
  const sim = new SimEmbedder(name);
  return new ServedEmbedder(name, () => sim);
};

describe('the embedding model of an index', () => {
  it('is recorded in index.json and read back', async () => {
    const idx = DocumentIndex.empty();
    await idx.add([join(docs, 'a.md')], served('embed'));
    const file = join(dir, 'recorded.json');
    idx.save(file);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { embeddings?: { model: string } }).embeddings?.model, 'embed');
    const loaded = DocumentIndex.load(file);
    assert.equal(loaded.embeddingModel, 'embed');
    loaded.checkEmbeddedWith('embed', file);
    assert.throws(() => loaded.checkEmbeddedWith('other', file), /holds vectors from 'embed', but passages are to be re-ranked with 'other'/);
  });

  it('refuses passages embedded by another model, or left without vectors beside embedded ones', async () => {
    const idx = DocumentIndex.empty();
    await idx.add([join(docs, 'a.md')], served('embed'));
    await assert.rejects(idx.add([join(docs, 'b.md')], served('other')), /vectors from 'embed': embed with it \(--embeddings-model embed\)/);
    await assert.rejects(idx.add([join(docs, 'b.md')]), /embed the new ones too \(--embeddings-model embed\)/);
    assert.equal(idx.size, 1, 'nothing was added by a refused call');
    await idx.add([join(docs, 'b.md')], served('embed'));
    assert.equal(idx.size, 2);
  });

  it('refuses to re-rank an index built without embeddings, and embedding into one', async () => {
    const plain = DocumentIndex.empty();
    await plain.add([docs]);
    assert.throws(() => plain.checkEmbeddedWith('embed', 'plain.json'), /plain\.json has no passage vectors to re-rank with 'embed'/);
    await assert.rejects(plain.add([join(docs, 'a.md')], served('embed')), /added without embeddings: start a new index/);
    // An empty index has nothing to compare: any model may start it.
    DocumentIndex.empty().checkEmbeddedWith('embed', 'empty.json');
  });
});
