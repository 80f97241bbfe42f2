// Rollout progress kept in the same SQLite file as tenants and keys, so a restart resumes where a rollout stood.
import type { RolloutState, RolloutStore } from '../router/index.js';
import type { Db } from './database.js';

interface Row {
  release: string;
  state: string;
}

export class SqliteRolloutStore implements RolloutStore {
  constructor(private readonly db: Db) {}

  load(release: string): RolloutState | undefined {
    const row = this.db.prepare('SELECT * FROM rollouts WHERE release = ?').get(release) as Row | undefined;
    return row ? (JSON.parse(row.state) as RolloutState) : undefined;
  }

  save(state: RolloutState): void {
    this.db
      .prepare('INSERT INTO rollouts (release, state) VALUES (?, ?) ON CONFLICT(release) DO UPDATE SET state = excluded.state')
      .run(state.release, JSON.stringify(state));
  }
}
