export { isE164, maskText, numberTag } from './phone-number.ts';
export { defaultSignalCliConfigDir } from './config-dir.ts';
