// Safe reading, validation and extraction of function and layer zips. Reading and pure
// validation are shared with the artifact store (operator/src/zip); `extractZip`
// (zip-extract.ts) writes the plan, counting inflated bytes against each declared size (a
// lying header cannot become a bomb) and re-checking on disk that every directory resolves
// inside the target.
export * from '../../../operator/src/zip/index.js';
export { extractZip, undoExtraction, type ExtractionJournal } from './zip-extract.js';
