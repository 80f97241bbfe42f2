// The optimized prompt as the gateway config's `prompts:` section: the next version of a versioned template, added to
// the file's earlier versions when it holds some.
import { existsSync, readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { promptsConfigSchema } from '../config/index.js';
import type { PromptTemplate } from '../prompts/index.js';

/** The file's text with `template` as the next version of its prompt; the earlier versions and prompts are kept. */
export function promptYaml(path: string, template: Omit<PromptTemplate, 'version'>, note: string): { text: string; version: number } {
  const before = existsSync(path) ? (parse(readFileSync(path, 'utf8')) as { prompts?: unknown } | null) : null;
  const prompts = promptsConfigSchema.parse(before?.prompts ?? {});
  const versions = prompts[template.name]?.versions ?? {};
  const version = Math.max(0, ...Object.keys(versions).map(Number)) + 1;
  const body = {
    instructions: template.instructions,
    ...(template.format && { format: template.format }),
    ...(template.strategy && { strategy: template.strategy }),
    demos: template.demos,
  };
  const doc = { prompts: { ...prompts, [template.name]: { ...prompts[template.name], versions: { ...versions, [String(version)]: body } } } };
  return { text: `# ${note}\n${stringify(doc, { lineWidth: 0 })}`, version };
}
