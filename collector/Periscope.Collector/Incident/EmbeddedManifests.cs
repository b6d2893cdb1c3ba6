using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Periscope.Collector.Incident;

/// <summary>How a kind of object is addressed in the API.</summary>
/// <param name="Kind">Its kind.</param>
/// <param name="Group">Its API group ("" for the core group).</param>
/// <param name="Version">Its version.</param>
/// <param name="Plural">Its resource name.</param>
/// <param name="Namespaced">Whether it lives in a namespace.</param>
internal sealed record ApiKind(string Kind, string Group, string Version, string Plural, bool Namespaced)
{
    /// <summary>The kinds the shipped manifests hold, in the order they are applied (what others refer to first).</summary>
    public static readonly IReadOnlyList<ApiKind> Known =
    [
        new("Namespace", "", "v1", "namespaces", false),
        new("PriorityClass", "scheduling.k8s.io", "v1", "priorityclasses", false),
        new("ResourceQuota", "", "v1", "resourcequotas", true),
        new("ServiceAccount", "", "v1", "serviceaccounts", true),
        new("Secret", "", "v1", "secrets", true),
        new("ConfigMap", "", "v1", "configmaps", true),
        new("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", false),
        new("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", false),
        new("Role", "rbac.authorization.k8s.io", "v1", "roles", true),
        new("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", true),
        new("ValidatingAdmissionPolicy", "admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", false),
        new("ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", false),
        new("Service", "", "v1", "services", true),
        new("Deployment", "apps", "v1", "deployments", true),
        new("DaemonSet", "apps", "v1", "daemonsets", true),
    ];

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public override string ToString() => Group.Length == 0 ? Plural : $"{Plural}.{Group}";
}

/// <summary>One object of the manifests, as JSON, with how it is addressed.</summary>
internal sealed record ManifestObject(ApiKind Kind, string Name, string? Namespace, JsonObject Body)
{
    public override string ToString() => Namespace is null ? $"{Kind.Kind} {Name}" : $"{Kind.Kind} {Namespace}/{Name}";
}

/// <summary>The objects to install, the images still unset (the shipped placeholders), and the overlay's settings still unset.</summary>
/// <param name="Overlay">The overlay.</param>
/// <param name="Objects">The objects, in the order they are applied.</param>
/// <param name="Unconfigured">The images no flag set.</param>
/// <param name="UnsetSettings">The overlay's settings that hold a placeholder nothing replaced.</param>
/// <param name="SettingsFile">The overlay's settings file, a filled-in copy of which <c>--settings</c> takes; null: it has none.</param>
internal sealed record Manifests(string Overlay, IReadOnlyList<ManifestObject> Objects, IReadOnlyList<string> Unconfigured, IReadOnlyList<string> UnsetSettings, string? SettingsFile);

/// <summary>
/// The shipped manifests — <c>kubectl kustomize deploy/overlays/&lt;overlay&gt;</c>, rendered into deploy/rendered/ and
/// embedded in the program (a test keeps them equal to the overlays) — made ready for one install: moved to the chosen
/// namespace, their images set, each object marked as installed by this command.
/// </summary>
internal static class EmbeddedManifests
{
    public const string ShippedNamespace = "periscope";

    /// <summary>On an overlay's settings ConfigMap (generated from an env file): the file, for <c>--settings</c>.</summary>
    public const string SettingsFileAnnotation = "periscope.io/settings-file";

    /// <summary>The overlays embedded.</summary>
    public static IReadOnlyList<string> Overlays { get; } = [.. typeof(EmbeddedManifests).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith("manifests/", StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal))
        .Select(n => n["manifests/".Length..^".yaml".Length]).Order(StringComparer.Ordinal)];

    /// <summary>The rendered overlay's YAML as embedded.</summary>
    public static string Text(string overlay)
    {
        using var stream = typeof(EmbeddedManifests).Assembly.GetManifestResourceStream($"manifests/{overlay}.yaml")
            ?? throw new ArgumentException($"no overlay '{overlay}' (embedded: {string.Join(", ", Overlays)})");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <param name="overlay">The overlay of deploy/.</param>
    /// <param name="ns">The namespace to install into (the shipped one is periscope).</param>
    /// <param name="imageAgent">The agent's image, else the one in the manifests.</param>
    /// <param name="imageCollector">The collector's image, else the one in the manifests.</param>
    /// <param name="runId">Recorded on every object (with the installed-by label), for the cleanup.</param>
    /// <param name="settings">The overlay's settings (<see cref="OverlaySettings"/>): each replaces its placeholder wherever it stands.</param>
    /// <exception cref="ArgumentException">A setting the overlay does not have.</exception>
    public static Manifests Load(string overlay, string ns, string? imageAgent, string? imageCollector, string? runId = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var objects = new List<ManifestObject>();
        var unset = new SortedSet<string>(StringComparer.Ordinal);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(Text(overlay)));
        var bodies = yaml.Documents.Select(d => Json(d.RootNode)).OfType<JsonObject>().ToList();
        var (unsetSettings, settingsFile) = ApplySettings(overlay, bodies, settings ?? new Dictionary<string, string>());
        foreach (var body in bodies)
        {
            var kindName = (string?)body["kind"];
            var kind = ApiKind.Known.FirstOrDefault(k => k.Kind == kindName && k.ApiVersion == (string?)body["apiVersion"])
                ?? throw new InvalidOperationException($"the {overlay} overlay holds a {body["apiVersion"]} {kindName}, which this command does not know how to apply");
            var metadata = body["metadata"]!.AsObject();
            var name = (string)metadata["name"]!;
            string? objectNs = null;
            if (kind.Namespaced)
            {
                objectNs = (string?)metadata["namespace"] is { } shipped && shipped != ShippedNamespace ? shipped : ns;
                metadata["namespace"] = objectNs;
            }
            else if (kind.Kind == "Namespace" && name == ShippedNamespace)
            {
                name = ns;
                metadata["name"] = ns;
            }

            foreach (var subject in body["subjects"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                if ((string?)subject["namespace"] == ShippedNamespace)
                {
                    subject["namespace"] = ns;
                }
            }

            var labels = metadata["labels"] as JsonObject ?? [];
            labels[IncidentCommand.InstalledByLabel] = IncidentCommand.FieldManager;
            metadata["labels"] = labels;
            if (runId is not null)
            {
                var annotations = metadata["annotations"] as JsonObject ?? [];
                annotations[IncidentCommand.RunAnnotation] = runId;
                metadata["annotations"] = annotations;
            }

            foreach (var container in Containers(body))
            {
                var image = (string?)container["image"] ?? string.Empty;
                var role = image.StartsWith("periscope-agent", StringComparison.Ordinal) ? "agent"
                    : image.StartsWith("periscope-collector", StringComparison.Ordinal) ? "collector" : null;
                var given = role == "agent" ? imageAgent : role == "collector" ? imageCollector : null;
                if (given is not null)
                {
                    container["image"] = given;
                }
                else if (role is not null)
                {
                    unset.Add($"the {role} (--image-{role})");
                }
            }

            objects.Add(new ManifestObject(kind, name, objectNs, body));
        }

        return new Manifests(overlay, [.. objects.OrderBy(o => ApiKind.Known.ToList().IndexOf(o.Kind))], [.. unset], unsetSettings, settingsFile);
    }

    /// <summary>
    /// Sets the overlay's settings: in its settings ConfigMap (<see cref="SettingsFileAnnotation"/>) each given key's
    /// value, and everywhere else each string equal to that key's shipped placeholder (what kustomize's replacements
    /// copied, e.g. a ServiceAccount's workload identity client id) — the placeholders are distinct, a test keeps them so.
    /// </summary>
    /// <returns>The keys whose non-empty placeholder nothing replaced, and the settings file.</returns>
    private static (IReadOnlyList<string> Unset, string? File) ApplySettings(string overlay, List<JsonObject> bodies, IReadOnlyDictionary<string, string> settings)
    {
        var settingsMaps = bodies.Where(b => (string?)b["kind"] == "ConfigMap" && b["metadata"]?["annotations"]?[SettingsFileAnnotation] is not null).ToList();
        var shipped = settingsMaps.SelectMany(m => (m["data"] as JsonObject ?? []).Select(p => KeyValuePair.Create(p.Key, (string?)p.Value ?? string.Empty)))
            .GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        var file = settingsMaps.Select(m => (string?)m["metadata"]!["annotations"]![SettingsFileAnnotation]).FirstOrDefault();
        if (settings.Keys.FirstOrDefault(k => !shipped.ContainsKey(k)) is { } unknown)
        {
            throw new ArgumentException(shipped.Count == 0
                ? $"--settings: the {overlay} overlay takes no settings (set {unknown})"
                : $"--settings: the {overlay} overlay has no setting {unknown} (it has {string.Join(", ", shipped.Keys.Order(StringComparer.Ordinal))})");
        }

        var byPlaceholder = settings.Where(s => shipped[s.Key].Length > 0).ToDictionary(s => shipped[s.Key], s => s.Value, StringComparer.Ordinal);
        foreach (var body in bodies)
        {
            Replace(body, byPlaceholder);
        }

        foreach (var map in settingsMaps)
        {
            var data = map["data"] as JsonObject ?? [];
            foreach (var (key, value) in settings)
            {
                data[key] = value;
            }

            map["data"] = data;
        }

        // A copy given back unchanged still holds the placeholder: as unset as no value.
        return ([.. shipped.Where(s => s.Value.Length > 0 && (!settings.TryGetValue(s.Key, out var given) || given == s.Value)).Select(s => s.Key).Order(StringComparer.Ordinal)], file);
    }

    private static void Replace(JsonNode node, IReadOnlyDictionary<string, string> byPlaceholder)
    {
        if (byPlaceholder.Count == 0)
        {
            return;
        }

        switch (node)
        {
            case JsonObject map:
                foreach (var key in map.Select(p => p.Key).ToList())
                {
                    if (map[key] is JsonValue value && value.TryGetValue<string>(out var text) && byPlaceholder.TryGetValue(text, out var set))
                    {
                        map[key] = set;
                    }
                    else if (map[key] is { } child)
                    {
                        Replace(child, byPlaceholder);
                    }
                }

                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    if (list[i] is JsonValue value && value.TryGetValue<string>(out var text) && byPlaceholder.TryGetValue(text, out var set))
                    {
                        list[i] = set;
                    }
                    else if (list[i] is { } child)
                    {
                        Replace(child, byPlaceholder);
                    }
                }

                break;
        }
    }

    private static IEnumerable<JsonObject> Containers(JsonObject body)
    {
        var spec = body["spec"]?["template"]?["spec"];
        return (spec?["containers"]?.AsArray() ?? []).Concat(spec?["initContainers"]?.AsArray() ?? []).OfType<JsonObject>();
    }

    /// <summary>A YAML node as JSON: plain scalars typed as YAML 1.2's core schema types them, quoted ones strings.</summary>
    internal static JsonNode? Json(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, Json(c.Value)))),
        YamlSequenceNode list => new JsonArray([.. list.Children.Select(Json)]),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } scalar => Plain(scalar.Value),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value ?? string.Empty),
        _ => null,
    };

    private static JsonNode? Plain(string? value) => value switch
    {
        null or "" or "~" or "null" or "Null" or "NULL" => null,
        "true" or "True" or "TRUE" => JsonValue.Create(true),
        "false" or "False" or "FALSE" => JsonValue.Create(false),
        _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => JsonValue.Create(integer),
        _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && value.Any(char.IsDigit) => JsonValue.Create(number),
        _ => JsonValue.Create(value),
    };
}
