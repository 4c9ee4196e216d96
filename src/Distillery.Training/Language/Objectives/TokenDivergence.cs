namespace Distillery.Training.Language.Objectives;

/// <summary>Which token-level divergence a white-box or on-policy run minimises against the teacher's full distribution.</summary>
public enum TokenDivergence
{
    /// <summary>KL(teacher ‖ student) at temperature T, scaled by T² (Hinton et al. 2015).</summary>
    ForwardKl,

    /// <summary>KL(student ‖ teacher) (MiniLLM, Gu et al. 2023).</summary>
    ReverseKl,

    /// <summary>Generalised Jensen–Shannon with β (GKD, Agarwal et al. 2023).</summary>
    Jsd,
}
