using System.Diagnostics.CodeAnalysis;

// RS0026 (PublicApiAnalyzers) asks that no two public overloads both have optional parameters, so that adding one later
// cannot make a call ambiguous. These overloads differ in the type of their first, required parameter and share one
// trailing optional parameter, so no call is ambiguous; they are kept as they are for 0.1.0. A new overload of these
// methods must not take optional parameters.
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Overloads differ in their first parameter's type; see above.", Scope = "member", Target = "~M:LeadScoring.Model.ScoringModelLoader.Load(System.ReadOnlySpan{System.Byte},LeadScoring.Model.ModelLoadOptions)~LeadScoring.Model.ModelLoadResult")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Overloads differ in their first parameter's type; see above.", Scope = "member", Target = "~M:LeadScoring.Model.ScoringModelLoader.Load(System.String,LeadScoring.Model.ModelLoadOptions)~LeadScoring.Model.ModelLoadResult")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Overloads differ in their first parameter's type; see above.", Scope = "member", Target = "~M:LeadScoring.Model.ScoringModelLoader.Load(System.IO.Stream,LeadScoring.Model.ModelLoadOptions)~LeadScoring.Model.ModelLoadResult")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Overloads differ in their first parameter's type; see above.", Scope = "member", Target = "~M:LeadScoring.Model.When.Occurred(System.String[],System.Nullable{System.Double})~LeadScoring.Model.Condition")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Overloads differ in their first parameter's type; see above.", Scope = "member", Target = "~M:LeadScoring.Model.When.Occurred(System.String,System.Nullable{System.Double})~LeadScoring.Model.Condition")]
