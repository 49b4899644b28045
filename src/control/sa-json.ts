// list-sas --json: the shapes and the text view live with the operation (src/ops/sa-json.ts); this name stays for
// the CLI and demo, which import it from the control layer.
export { type ChildJson, describeSa, formatSasText, type SaJson } from '../ops/sa-json.js';
