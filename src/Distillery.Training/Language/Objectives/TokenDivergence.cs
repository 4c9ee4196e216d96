namespace Distillery.Training.Language.Objectives;

/// <summary>Which token-level divergence a white-box or on-policy run minimises against the teacher.</summary>
public enum TokenDivergence
{
    /// <summary>KL(teacher ‖ student) at temperature T, scaled by T² (Hinton et al. 2015).</summary>
    ForwardKl,

    /// <summary>KL(student ‖ teacher) (MiniLLM, Gu et al. 2023).</summary>
    ReverseKl,

    /// <summary>Generalised Jensen–Shannon with β (GKD, Agarwal et al. 2023).</summary>
    Jsd,

    /// <summary>
    /// On-policy only: the per-token reverse KL on the student's own samples, −Σ Aₜ·log q(yₜ) with the advantage
    /// Aₜ = log p(yₜ) − log q(yₜ) held fixed (Thinking Machines 2025, "On-Policy Distillation").
    /// </summary>
    SampledReverseKl,
}
