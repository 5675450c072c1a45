/** How `GET /blocks` serves the chain in pages: the limits the serving node keeps and the syncing one counts on. */

/** Most blocks one `GET /blocks` answer holds. */
export const MAX_BLOCKS_PER_PAGE = 1000;
/** A `GET /blocks` page stops before it passes this many bytes (it always holds at least one block). */
export const MAX_PAGE_BYTES = 8 * 1024 * 1024;
