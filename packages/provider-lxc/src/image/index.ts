// Public surface of the base-image builder (re-exported by the package index).
export { BASE_IMAGE_ALIAS, BASE_IMAGE_PACKAGES, baseImageRecipe, recipeHash, type BaseImageRecipe } from "./recipe.js";
export { validateMirrorUrl, hostDebianMirror, DEFAULT_DEBIAN_MIRROR } from "./mirror.js";
export {
  buildBaseImage,
  resolveBaseImageRecipe,
  DEFAULT_IMAGE_CACHE_DIR,
  type BuildBaseImageOptions,
  type BaseImageArtifacts,
} from "./build.js";
export type { ImageBuildStep, ImageProgressEvent, ImageProgressListener } from "./progress.js";
export { importBaseImageToIncus, findIncusBaseImage, RECIPE_PROPERTY, type IncusImportOptions, type IncusImportResult } from "./incus-import.js";
