// Types for preprocess.js (imported by test/browser-demo.test.ts).
export declare const SIZE: 28;
export declare const BOX: 20;
export interface InkImage { width: number; height: number; ink: Float32Array }
export interface Box { x: number; y: number; width: number; height: number }
export declare function inkFromRGBA(rgba: ArrayLike<number>, width: number, height: number): InkImage;
export declare function boundingBox(image: InkImage, threshold?: number): Box | null;
export declare function toMnist(image: InkImage): { pixels: Float32Array; box: Box; scale: number; centreOfMass: { x: number; y: number } } | null;
