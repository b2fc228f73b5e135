// Model and tensor file formats.
export {
  readSafetensors,
  writeSafetensors,
  safetensorsMetadata,
  SafetensorsError,
  MAX_HEADER_BYTES,
  type SafetensorsTensor,
  type SafetensorsFile,
} from './safetensors.js';
