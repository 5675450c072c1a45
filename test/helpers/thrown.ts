import { JbcError } from '../../src/errors.js';

/** The JbcError `fn` throws; fails the test when it returns or throws anything else. */
export function thrown(fn: () => unknown): JbcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof JbcError) return err;
    throw err;
  }
  throw new Error('expected a JbcError, but the call returned');
}
