/// The curated topologies in `Topologies/*.yaml`, compiled into the binary so
/// that one copied `shardplan` binary knows them (`--topology 8x-h100-sxm`).
/// `Scripts/embed-topologies.sh` regenerates the embedded copy.
package enum BundledTopologies {
  /// Names of all bundled topologies, sorted.
  package static var names: [String] { files.map(\.name).sorted() }

  /// The YAML text of a bundled topology, or nil.
  package static func text(named name: String) -> String? {
    files.first { $0.name == name }?.yaml
  }
}
