export type ImageBuildStep = "prepare" | "debootstrap" | "install" | "configure" | "pack" | "import" | "done";

export interface ImageProgressEvent {
  step: ImageBuildStep;
  message: string;
  percent?: number;
}

export type ImageProgressListener = (event: ImageProgressEvent) => void;
