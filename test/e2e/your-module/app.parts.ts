import type { AppParts } from '../../../src/app.module.js';
import { Notes1790000000000 } from './1790000000000-notes.js';
import { Note } from './note.entity.js';
import { NotesModule } from './notes.module.js';

// Your modules, migrations and entities (docs/extending.md). Upstream ships this file empty and
// never edits it, so pulling a new version of the project merges cleanly.
export const APP_PARTS: AppParts = {
  modules: [NotesModule],
  migrations: [Notes1790000000000],
  entities: [Note],
};
