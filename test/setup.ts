// Production loads the SHA-256 hasher once at startup; tests do the same before any file runs.
import { initHashing } from '../src/hash.js';

await initHashing();
