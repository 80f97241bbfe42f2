// The Dockerfile read with a real parser: its stages, and what the runtime stage runs, sets and starts, so tests can
// lint it and replay the runtime stage's own install steps in a scratch folder instead of a copy of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { repoRoot } from '../support/server.js';

export const dockerfilePath = join(repoRoot, 'Dockerfile');

export interface Stage {
  /** The image the stage starts from, with ARG defaults filled in (`node:20.20.2-bookworm-slim`). */
  image: string;
  name?: string;
  instructions: Instruction[];
}

export interface ImageFile {
  text: string;
  dockerfile: Dockerfile;
  stages: Stage[];
}

export function readDockerfile(path = dockerfilePath): ImageFile {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

export function parseDockerfile(text: string): ImageFile {
  const dockerfile = DockerfileParser.parse(text);
  // ARGs before the first FROM are the ones a FROM line may use.
  const globalArgs = new Map(dockerfile.getInitialARGs().flatMap((a) => a.getProperties().map((p) => [p.getName(), p.getUnescapedValue() ?? ''] as const)));
  const expand = (s: string) => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, name: string) => globalArgs.get(name) ?? m);
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line)!;
      const words = (from.getArgumentsContent() ?? '').split(/\s+/).filter((w) => !w.startsWith('--'));
      stages.push({ image: expand(words[0] ?? ''), name: from.getBuildStage() ?? undefined, instructions: [] });
    } else stages.at(-1)?.instructions.push(instruction);
  }
  return { text, dockerfile, stages };
}

/** The text of an instruction after its keyword and flags (`RUN --mount=... npm ci` gives `npm ci`). */
export function commandOf(image: ImageFile, instruction: Instruction): string {
  const args = instruction.getArguments().filter((a) => !a.getValue().startsWith('--'));
  const lines = image.text.split('\n');
  const start = args[0]?.getRange().start;
  const end = instruction.getRange().end;
  if (!start) return '';
  const text = lines.slice(start.line, end.line + 1);
  text[text.length - 1] = text.at(-1)!.slice(0, end.line === start.line ? end.character : end.character);
  text[0] = text[0]!.slice(start.character);
  return text.join('\n').replace(/\\\n/g, ' ');
}

export function runtimeStage(image: ImageFile): Stage {
  const stage = image.stages.at(-1);
  if (!stage) throw new Error('the Dockerfile has no FROM');
  return stage;
}

/** Environment the runtime stage sets, in order (later ENV lines win). */
export function runtimeEnv(image: ImageFile): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of runtimeStage(image).instructions) {
    if (i.getKeyword() !== 'ENV') continue;
    const e = image.dockerfile.getENVs().find((x) => x.getRange().start.line === i.getRange().start.line)!;
    for (const p of e.getProperties()) env[p.getName()] = p.getUnescapedValue() ?? '';
  }
  return env;
}

/** An exec-form instruction's words (`CMD ["serve", "--host", "0.0.0.0"]`), or undefined for shell form. */
export function execForm(image: ImageFile, keyword: 'CMD' | 'ENTRYPOINT' | 'HEALTHCHECK'): string[] | undefined {
  const instruction = runtimeStage(image)
    .instructions.filter((i) => i.getKeyword() === keyword)
    .at(-1);
  if (!instruction) return undefined;
  const text = commandOf(image, instruction);
  const json = keyword === 'HEALTHCHECK' ? text.replace(/^.*?\bCMD\s+/s, '') : text;
  try {
    const words = JSON.parse(json) as unknown;
    return Array.isArray(words) && words.every((w) => typeof w === 'string') ? words : undefined;
  } catch {
    return undefined;
  }
}

/** The WORKDIR the runtime stage's last instructions run in. */
export function runtimeWorkdir(image: ImageFile): string | undefined {
  const dirs = runtimeStage(image).instructions.filter((i) => i.getKeyword() === 'WORKDIR');
  return dirs.length ? commandOf(image, dirs.at(-1)!) : undefined;
}

/**
 * The runtime stage's RUN steps that install the application in its WORKDIR, in order: those after the WORKDIR that
 * need no root (no apt-get, useradd, chown), which is what an unprivileged scratch folder can replay.
 */
export function appInstallSteps(image: ImageFile): string[] {
  const stage = runtimeStage(image);
  const workdirAt = stage.instructions.map((i) => i.getKeyword()).lastIndexOf('WORKDIR');
  return stage.instructions
    .slice(workdirAt + 1)
    .filter((i) => i.getKeyword() === 'RUN')
    .map((i) => commandOf(image, i))
    .filter((cmd) => !/\b(apt-get|useradd|chown)\b/.test(cmd));
}

/** Replaces image paths (`/pack/`, `/data`) in a command or value by the scratch folders standing in for them. */
export function remap(text: string, paths: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(paths).sort((a, b) => b[0].length - a[0].length))
    out = out.replace(new RegExp(`(^|[\\s=:'"])${from.replace(/[/.]/g, '\\$&')}(?=$|[/\\s:'"])`, 'g'), `$1${to}`);
  return out;
}

/** The usual Dockerfile mistakes, one line each; none for a good file. */
export function lintDockerfile(image: ImageFile): string[] {
  const problems: string[] = [];
  const stageNames = new Set<string>();
  for (const stage of image.stages) {
    const [name, tag] = splitImage(stage.image);
    if (!stageNames.has(stage.image)) {
      if (!tag) problems.push(`FROM ${stage.image}: no tag (pin a version)`);
      else if (tag === 'latest') problems.push(`FROM ${stage.image}: latest is not a version`);
      else if (!/\d/.test(tag) && !tag.startsWith('sha256:')) problems.push(`FROM ${stage.image}: tag ${tag} names no version`);
    }
    if (!name) problems.push('FROM without an image');
    if (stage.name) stageNames.add(stage.name);
  }
  const all = image.dockerfile.getInstructions();
  for (const add of all.filter((i) => i.getKeyword() === 'ADD'))
    if (/https?:\/\//.test(commandOf(image, add))) problems.push(`line ${add.getRange().start.line + 1}: ADD of a URL (fetch in a RUN step and verify it)`);
  const runs = (stage: Stage) => stage.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => commandOf(image, i));
  const builds = image.stages.slice(0, -1);
  if (!builds.some((s) => runs(s).some((r) => /\bnpm ci\b/.test(r)))) problems.push('no build stage runs npm ci (the lockfile is not what gets installed)');
  if (!builds.some((s) => runs(s).some((r) => /\bnpm pack\b/.test(r)))) problems.push('no build stage runs npm pack');
  const runtime = image.stages.at(-1);
  if (!runtime) return [...problems, 'no FROM'];
  if (!runs(runtime).some((r) => /\bnpm install\b.*--omit=dev/.test(r))) problems.push('the runtime stage does not npm install --omit=dev');
  if (runs(runtime).some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r))) problems.push('the runtime stage installs dev dependencies');
  const users = runtime.instructions.filter((i) => i.getKeyword() === 'USER').map((i) => commandOf(image, i).split(':')[0]!.trim());
  if (!users.length) problems.push('no USER in the runtime stage: it runs as root');
  else if (['root', '0'].includes(users.at(-1)!)) problems.push(`USER ${users.at(-1)}: the runtime stage runs as root`);
  if (!runtime.instructions.some((i) => i.getKeyword() === 'HEALTHCHECK')) problems.push('no HEALTHCHECK');
  if (!runtime.instructions.some((i) => i.getKeyword() === 'EXPOSE')) problems.push('no EXPOSE');
  const entrypoint = execForm(image, 'ENTRYPOINT');
  const cmd = execForm(image, 'CMD');
  if (!entrypoint) problems.push('ENTRYPOINT is missing or in shell form (signals would go to a shell, not the server)');
  else if (!/\btini\b|dumb-init/.test(entrypoint[0] ?? '')) problems.push('ENTRYPOINT runs no init (tini): SIGTERM would reach a PID 1 without handlers');
  if (!cmd) problems.push('CMD is missing or in shell form');
  else if (!cmd.join(' ').includes('--host 0.0.0.0'))
    problems.push('CMD does not listen on 0.0.0.0: the server would be unreachable from outside the container');
  return problems;
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.indexOf('@');
  if (at >= 0) return [image.slice(0, at), image.slice(at + 1)];
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}
