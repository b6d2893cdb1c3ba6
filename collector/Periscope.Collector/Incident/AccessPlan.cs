using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Periscope.Collector.Incident;

/// <summary>One permission: a verb on a resource, in a namespace or cluster-wide, optionally one named object.</summary>
internal sealed record Permission(string Verb, string Group, string Resource, string? Namespace = null, string? Name = null, string? Subresource = null, string? Why = null)
{
    public override string ToString()
    {
        var resource = (Group.Length == 0 ? Resource : $"{Resource}.{Group}") + (Subresource is null ? string.Empty : "/" + Subresource);
        return $"{Verb} {resource}{(Name is null ? string.Empty : $" \"{Name}\"")} {(Namespace is null ? "(cluster-wide)" : $"in namespace {Namespace}")}"
            + (Why is null ? string.Empty : $": {Why}");
    }
}

/// <summary>
/// What the incident command needs, asked of the API server with SelfSubjectAccessReview before anything changes: to
/// run (read the DaemonSet, list nodes and its pods, write the run ConfigMap), to install (create and patch each
/// object) — and, for the RBAC objects it creates, what RBAC requires of whoever creates them: escalate on roles or
/// holding every permission a role grants, bind on a role or holding its permissions for a binding — and to clean up.
/// </summary>
internal static class AccessPlan
{
    public static IReadOnlyList<Permission> ForRun(string ns, bool cleanup)
    {
        List<Permission> needed =
        [
            new("get", "apps", "daemonsets", ns, IncidentCommand.AgentDaemonSet, Why: "to see whether Periscope is installed and whom its DaemonSet selects"),
            new("list", "", "nodes", Why: "to know every node a run should reach"),
            new("list", "", "pods", ns, Why: "to see the agent pods' states"),
            new("get", "", "configmaps", ns, IncidentCommand.RunConfigMap, Why: "to start a run"),
            new("create", "", "configmaps", ns, Why: "to start a run"),
            new("update", "", "configmaps", ns, IncidentCommand.RunConfigMap, Why: "to start a run"),
            new("list", "", "pods", Why: "for the report: the pods PodDisruptionBudgets pin"),
            new("list", "policy", "poddisruptionbudgets", Why: "for the report: what blocks a drain"),
            new("list", "", "events", Why: "for the report: the Node events (auto-repair, drains)"),
        ];
        if (cleanup)
        {
            foreach (var kind in ApiKind.Known)
            {
                needed.Add(new("list", kind.Group, kind.Plural, Why: "to find what this command installed"));
                needed.Add(new("delete", kind.Group, kind.Plural, kind.Namespaced ? ns : null, Why: "to remove what this command installed"));
            }

            needed.Add(new("patch", "", "nodes", Subresource: "status", Why: "to remove Periscope's node conditions"));
        }

        return needed;
    }

    public static IReadOnlyList<Permission> ForInstall(Manifests manifests)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        var ns = manifests.Objects.FirstOrDefault(o => o.Kind.Kind == "Namespace")?.Name ?? manifests.Objects.First(o => o.Namespace is not null).Namespace;
        return [.. manifests.Objects.SelectMany(o => new[]
        {
            new Permission("create", o.Kind.Group, o.Kind.Plural, o.Namespace, Why: $"to install {o}"),
            new Permission("patch", o.Kind.Group, o.Kind.Plural, o.Namespace, o.Name, Why: $"to install {o} (server-side apply)"),
        }).Append(new Permission("create", "", "secrets", ns, Why: $"to create the collector's operator token Secret {ManifestInstaller.OperatorTokenSecret}")).Distinct()];
    }

    /// <summary>Every permission the API server does not grant, in the order asked; RBAC objects' requirements last.</summary>
    public static async Task<IReadOnlyList<Permission>> MissingAsync(Kubernetes client, IReadOnlyList<Permission> needed, Manifests? manifests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var answers = new Dictionary<Permission, bool>();
        async Task<bool> AllowedAsync(Permission p)
        {
            var key = p with { Why = null };
            lock (answers)
            {
                if (answers.TryGetValue(key, out var known))
                {
                    return known;
                }
            }

            var review = await client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(new V1SelfSubjectAccessReview
            {
                Spec = new V1SelfSubjectAccessReviewSpec
                {
                    ResourceAttributes = new V1ResourceAttributes
                    {
                        Verb = p.Verb, Group = p.Group, Resource = p.Resource, NamespaceProperty = p.Namespace, Name = p.Name, Subresource = p.Subresource,
                    },
                },
            }, cancellationToken: cancellationToken);
            var allowed = review.Status?.Allowed == true;
            lock (answers)
            {
                answers[key] = allowed;
            }

            return allowed;
        }

        var missing = new List<Permission>();
        var first = new bool[needed.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, needed.Count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (i, _) => first[i] = await AllowedAsync(needed[i]));
        missing.AddRange(needed.Where((_, i) => !first[i]));
        if (manifests is null)
        {
            return missing;
        }

        // RBAC: a role may be created only by whoever holds what it grants (or may escalate); a binding only by whoever
        // may bind its role (or holds what the role grants).
        var roles = manifests.Objects.Where(o => o.Kind.Kind is "ClusterRole" or "Role").ToList();
        var held = new Dictionary<string, List<Permission>>(StringComparer.Ordinal);
        foreach (var role in roles)
        {
            var key = $"{role.Kind.Kind}/{role.Namespace}/{role.Name}";
            var lacking = new List<Permission>();
            if (!await AllowedAsync(new Permission("escalate", "rbac.authorization.k8s.io", role.Kind.Plural, role.Namespace, role.Name)))
            {
                foreach (var grant in Grants(role))
                {
                    if (!await AllowedAsync(grant))
                    {
                        lacking.Add(grant with { Why = $"{role} grants it (or: escalate on {role.Kind.Plural}.rbac.authorization.k8s.io)" });
                    }
                }
            }

            held[key] = lacking;
            missing.AddRange(lacking);
        }

        foreach (var binding in manifests.Objects.Where(o => o.Kind.Kind is "ClusterRoleBinding" or "RoleBinding"))
        {
            var roleRef = binding.Body["roleRef"]!.AsObject();
            var roleKind = (string)roleRef["kind"]!;
            var roleName = (string)roleRef["name"]!;
            var roleNs = roleKind == "Role" ? binding.Namespace : null;
            var plural = roleKind == "Role" ? "roles" : "clusterroles";
            if (await AllowedAsync(new Permission("bind", "rbac.authorization.k8s.io", plural, roleNs, roleName)))
            {
                continue;
            }

            if (!held.TryGetValue($"{roleKind}/{roleNs}/{roleName}", out var lacking) || lacking.Count > 0)
            {
                missing.Add(new Permission("bind", "rbac.authorization.k8s.io", plural, roleNs, roleName, Why: $"to create {binding} (or hold every permission {roleKind} {roleName} grants)"));
            }
        }

        return [.. missing.Distinct()];
    }

    /// <summary>Each verb on each resource (and each named object) a role's rules grant.</summary>
    internal static IEnumerable<Permission> Grants(ManifestObject role)
    {
        foreach (var rule in role.Body["rules"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var groups = Strings(rule["apiGroups"]);
            var resources = Strings(rule["resources"]);
            var names = Strings(rule["resourceNames"]);
            foreach (var group in groups.DefaultIfEmpty(string.Empty))
            {
                foreach (var resource in resources)
                {
                    var (plain, subresource) = resource.IndexOf('/', StringComparison.Ordinal) is var slash and > 0 ? (resource[..slash], resource[(slash + 1)..]) : (resource, (string?)null);
                    foreach (var verb in Strings(rule["verbs"]))
                    {
                        foreach (var name in names.Count == 0 ? [null] : names.Select(n => (string?)n))
                        {
                            yield return new Permission(verb, group, plain, role.Namespace, name, subresource);
                        }
                    }
                }
            }
        }
    }

    private static List<string> Strings(JsonNode? node) => [.. node?.AsArray().Select(n => (string?)n).OfType<string>() ?? []];
}
