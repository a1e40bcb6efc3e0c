import Foundation

/// The model configs in `Models/`, compiled into the binary and named by Hub id
/// (`Qwen/Qwen3-32B`). `Scripts/embed-models.sh` regenerates the embedded copy.
package enum BundledModels {
  /// Hub ids of all bundled models, sorted.
  package static var ids: [String] { configs.map(\.id).sorted() }

  /// The config.json of a bundled model; the id is matched without regard to case.
  package static func config(for id: String) -> (id: String, json: String)? {
    configs.first { $0.id.lowercased() == id.lowercased() }
  }
}
