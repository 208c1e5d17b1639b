export { Simulator, SimulationError, formatMismatch } from './simulator';
export type { Driver, Expectation, Interaction, Mismatch, SimulationResult, SimulatorOptions } from './simulator';
export { ScriptDriver, ScriptError, parseWalkScript } from './script';
export type { ScriptStep, WalkScript } from './script';
export { InteractiveDriver, LineReader } from './interactive';
export { PickerFiles } from './picker-files';
export { BadReplyError, openReply, sealRequest } from './wire';
export { buildScreenView, renderScreen, resolveBindings } from './screen-view';
export type { ScreenView, ViewAction, ViewField } from './screen-view';
