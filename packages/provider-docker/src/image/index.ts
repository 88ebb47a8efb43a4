// Public surface of the Docker base-image importer (re-exported by the package index).
export {
  importBaseImageToDocker,
  findDockerBaseImage,
  dockerSocketPath,
  DOCKER_BASE_IMAGE_REPOSITORY,
  RECIPE_LABEL,
  type DockerImportOptions,
  type DockerImportResult,
  type ImageImportProgressEvent,
} from "./docker-import.js";
