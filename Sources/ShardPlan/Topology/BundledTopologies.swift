/// The curated topologies in `Topologies/*.yaml`, compiled into the binary so
/// that one copied `shardplan` binary knows them (`--topology 8x-h100-sxm`).
/// `Scripts/embed-topologies.sh` regenerates the embedded copy.
public enum BundledTopologies {
  /// Names of all bundled topologies, sorted.
  public static var names: [String] { files.map(\.name).sorted() }

  /// The YAML text of a bundled topology, or nil.
  public static func text(named name: String) -> String? {
    files.first { $0.name == name }?.yaml
  }
}
