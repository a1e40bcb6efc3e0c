import Foundation

/// Finds a model in Ollama's store: a name such as `llama3.1:70b-instruct-q4_K_M`
/// (or `namespace/name:tag`, `ollama:NAME`) resolves through its manifest
/// (`manifests/registry.ollama.ai/library/llama3.1/70b-instruct-q4_K_M`) to the
/// GGUF blob of its `application/vnd.ollama.image.model` layer
/// (`blobs/sha256-<digest>`). The store is `OLLAMA_MODELS`, else `~/.ollama/models`,
/// else the Linux service's `/usr/share/ollama/.ollama/models`.
package struct OllamaStore: Sendable {
  /// The environment that names the store (`OLLAMA_MODELS`, `HOME`).
  package var environment: [String: String]

  /// A store found from `environment`.
  package init(environment: [String: String]) { self.environment = environment }

  /// The store folders to look in, in order.
  package var folders: [String] {
    if let folder = environment["OLLAMA_MODELS"], !folder.isEmpty { return [folder] }
    let home = environment["HOME"] ?? NSHomeDirectory()
    return [home + "/.ollama/models", "/usr/share/ollama/.ollama/models"]
  }

  /// Whether `reference` is written as an Ollama name: `ollama:` first, or a
  /// `name:tag` with no path separator before the colon's host part.
  static func looksLikeName(_ reference: String) -> Bool {
    if reference.hasPrefix("ollama:") { return true }
    guard let colon = reference.firstIndex(of: ":"), !reference.hasPrefix("/"), !reference.hasPrefix(".") else {
      return false
    }
    let name = reference[..<colon]
    let tag = reference[reference.index(after: colon)...]
    return !name.isEmpty && !tag.isEmpty && !tag.contains("/")
      && reference.allSatisfy { $0.isLetter || $0.isNumber || "-_.:/".contains($0) }
  }

  /// The manifest path of `reference` under `folder`, and the name it was read as.
  static func manifestPath(_ reference: String, in folder: String) -> String {
    var name = reference.hasPrefix("ollama:") ? String(reference.dropFirst(7)) : reference
    var tag = "latest"
    if let colon = name.lastIndex(of: ":") {
      tag = String(name[name.index(after: colon)...])
      name = String(name[..<colon])
    }
    let parts = name.split(separator: "/").map(String.init)
    let host = parts.count == 3 ? parts[0] : "registry.ollama.ai"
    let namespace = parts.count >= 2 ? parts[parts.count - 2] : "library"
    return [folder, "manifests", host, namespace, parts.last ?? name, tag].joined(separator: "/")
  }

  /// The GGUF blob of `reference`, or nil when no store has its manifest.
  ///
  /// - Throws: ``InputError`` for a manifest that is not JSON, names no model
  ///   layer, or whose digest is not `sha256:` and 64 hex digits or leads outside
  ///   the store's `blobs` folder (refused, never followed).
  package func blob(for reference: String) throws -> String? {
    for folder in folders {
      let path = Self.manifestPath(reference, in: folder)
      guard FileManager.default.fileExists(atPath: path) else { continue }
      let data = try ByteSource.readWhole(path, limit: 1 << 20)
      let json = try JSONValue.parse(data, source: path)
      let layers = json["layers"]?.arrayValue ?? []
      guard
        let model = layers.first(where: { $0["mediaType"]?.stringValue == "application/vnd.ollama.image.model" }),
        let digest = model["digest"]?.stringValue
      else {
        throw InputError(
          .malformed,
          source: path,
          field: "layers",
          message: "the Ollama manifest names no model layer",
          expected: "a layer of mediaType application/vnd.ollama.image.model",
          fix: "Pull the model again (`ollama pull \(reference)`)"
        )
      }
      let hex = digest.hasPrefix("sha256:") ? digest.dropFirst(7) : ""
      guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
        throw InputError(
          .malformed,
          source: path,
          field: "layers[].digest",
          message: "the model layer's digest '\(digest)' is not a sha256 digest",
          expected: "sha256: and 64 hexadecimal digits",
          fix: "Pull the model again (`ollama pull \(reference)`)"
        )
      }
      let blobs = URL(fileURLWithPath: folder + "/blobs").resolvingSymlinksInPath().path
      let blob = URL(fileURLWithPath: folder + "/blobs/sha256-\(hex)").resolvingSymlinksInPath().path
      guard blob.hasPrefix(blobs + "/") else {
        throw InputError(
          .malformed,
          source: path,
          field: "layers[].digest",
          message: "the model blob resolves to \(blob), outside the store's blobs folder",
          expected: "a blob inside \(blobs)",
          fix: "Remove the link, or pull the model again"
        )
      }
      guard FileManager.default.fileExists(atPath: blob) else {
        throw InputError(
          .unreadable,
          source: path,
          message: "the manifest's model blob \(blob) is missing",
          fix: "Pull the model again (`ollama pull \(reference)`)"
        )
      }
      return blob
    }
    return nil
  }
}

/// Finds a model in LM Studio's store (`~/.lmstudio/models`, or the older
/// `~/.cache/lm-studio/models`), laid out as `PUBLISHER/REPOSITORY/FILE.gguf`:
/// `lmstudio:PUBLISHER/REPOSITORY[/FILE.gguf]`, or a Hub-style id found there.
package struct LMStudioStore: Sendable {
  /// The environment (`HOME`).
  package var environment: [String: String]

  /// A store found from `environment`.
  package init(environment: [String: String]) { self.environment = environment }

  /// The store folders to look in, in order.
  package var folders: [String] {
    let home = environment["HOME"] ?? NSHomeDirectory()
    return [home + "/.lmstudio/models", home + "/.cache/lm-studio/models"]
  }

  /// The GGUF file of `reference`, or nil when no store has it.
  ///
  /// - Throws: ``InputError`` when the repository holds several model files and
  ///   the reference does not name one (they are listed).
  package func file(for reference: String) throws -> String? {
    let name = reference.hasPrefix("lmstudio:") ? String(reference.dropFirst(9)) : reference
    let parts = name.split(separator: "/").map(String.init)
    guard parts.count == 2 || parts.count == 3, !parts.contains(".."), !parts.contains(".") else { return nil }
    for folder in folders {
      let repository = [folder, parts[0], parts[1]].joined(separator: "/")
      if parts.count == 3 {
        let file = repository + "/" + parts[2]
        if FileManager.default.fileExists(atPath: file) { return file }
        continue
      }
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: repository) else { continue }
      // mmproj files are vision projectors, not the language model.
      let models = names.filter { $0.lowercased().hasSuffix(".gguf") && !$0.lowercased().hasPrefix("mmproj") }.sorted()
      if models.count == 1 { return repository + "/" + models[0] }
      if models.count > 1 {
        throw InputError(
          .inconsistent,
          source: repository,
          message: "LM Studio holds \(models.count) model files for \(parts[0])/\(parts[1])",
          expected: "one of: \(models.joined(separator: ", "))",
          fix: "Name the file: lmstudio:\(parts[0])/\(parts[1])/\(models[0])"
        )
      }
    }
    return nil
  }
}
